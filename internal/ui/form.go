package ui

import (
	"net/http"
	"slices"
	"strings"

	"github.com/liaison/liaison/internal/invalid"
)

// form is what a person typed into one form and what is wrong with it,
// field by field. A handler makes one with newForm, naming the fields the
// form shows; on an error it fills the field errors with f.from(err) (a
// domain *invalid.Error) or f.invalid, and renders the same screen again
// with the form: every value comes back except passwords, which the
// "field" template never writes into a page.
type form struct {
	names  []string
	values map[string]string
	errs   map[string]fieldError
	// Problems are errors about no field the form shows, shown above it.
	Problems []string
}

// fieldError is one field's error: a domain message ("is required"),
// shown after the field's label, or a whole sentence of the UI's own.
type fieldError struct {
	message string
	whole   bool
}

// newForm reads the named fields of r's form (nothing on a GET: an empty
// form).
func newForm(r *http.Request, names ...string) *form {
	f := &form{names: names, values: map[string]string{}, errs: map[string]fieldError{}}
	if r.Method == http.MethodPost {
		for _, n := range names {
			f.values[n] = r.PostFormValue(n)
		}
	}
	return f
}

// value is what was typed into the field.
func (f *form) value(name string) string { return f.values[name] }

// set fills a field (a value shown before anything was typed).
func (f *form) set(name, value string) { f.values[name] = value }

// invalid sets a field's error to a whole sentence in plain words.
func (f *form) invalid(name, sentence string) {
	f.errs[name] = fieldError{message: sentence, whole: true}
}

// problem adds an error about the form as a whole.
func (f *form) problem(sentence string) { f.Problems = append(f.Problems, sentence) }

// from takes the field errors of err, an *invalid.Error from a domain
// service, and reports whether it was one; errors of fields the form does
// not show become Problems. Any other error is the caller's to handle.
func (f *form) from(err error) bool {
	ie, ok := invalid.As(err)
	if !ok {
		return false
	}
	for _, fe := range ie.Fields {
		if slices.Contains(f.names, fe.Field) {
			if _, seen := f.errs[fe.Field]; !seen {
				f.errs[fe.Field] = fieldError{message: fe.Message}
			}
			continue
		}
		f.problem(sentence(fe.Field, fe.Message))
	}
	return true
}

// ok reports whether nothing is wrong.
func (f *form) ok() bool { return len(f.errs) == 0 && len(f.Problems) == 0 }

// fieldView is what the "field" template shows: label, input and, below
// it, the error.
type fieldView struct {
	Name, Label, Type, Value, Autocomplete, Error string
}

// field is the template function behind {{template "field" (field .Form
// "email" "Email" "email" "username")}}: type is the input's type
// ("text", "email", "password", "url"), autocomplete its autocomplete
// attribute. A password's value is never shown.
func field(f *form, name, label, typ, autocomplete string) fieldView {
	v := fieldView{Name: name, Label: label, Type: typ, Autocomplete: autocomplete}
	if f == nil {
		return v
	}
	if typ != "password" {
		v.Value = f.values[name]
	}
	if e, ok := f.errs[name]; ok {
		v.Error = e.message
		if !e.whole {
			v.Error = sentence(label, e.message)
		}
	}
	return v
}

// sentence is a domain message after its subject, a field's label
// without its "(optional)": "Email is required.".
func sentence(subject, message string) string {
	s := strings.TrimSuffix(subject, " (optional)") + " " + message
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
