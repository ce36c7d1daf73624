package ui

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/liaison/liaison/internal/access"
)

// The steps of integration_form.html: the create screen's two, and the
// edit screen, which shows both at once.
const (
	stepInfo   = "info"
	stepScopes = "scopes"
	stepEdit   = "edit"
)

// integrationForm is the data of integration_form.html.
type integrationForm struct {
	Step string
	// Action is where the form posts; Cancel where Cancel leads.
	Action, Cancel string
	Form           *form
	Name           countedField
	Description    countedField
	Scopes         []scopeChoice
	ScopesError    string
}

// countedField is a field with a live "12 / 200" counter below it
// (static/app.js keeps it up to date as one types).
type countedField struct {
	fieldView
	Max      int
	Count    int
	Textarea bool
}

// scopeChoice is one box of the scopes checklist.
type scopeChoice struct {
	Value, Label string
	Checked      bool
}

// integrationFields are the fields of the integration forms.
var integrationFields = []string{"name", "description", "scopes"}

// newIntegrationForm shows f at step, with chosen ticked in the
// checklist.
func newIntegrationForm(step, action, cancel string, f *form, chosen []string) integrationForm {
	d := integrationForm{Step: step, Action: action, Cancel: cancel, Form: f,
		Name:        counted(f, "name", "Name", access.MaxNameLength, false),
		Description: counted(f, "description", "Description", access.MaxDescriptionLength, true),
		ScopesError: field(f, "scopes", "Scopes", "", "").Error,
	}
	for _, s := range access.AllScopes {
		d.Scopes = append(d.Scopes, scopeChoice{Value: s, Label: scopeLabels[s], Checked: slices.Contains(chosen, s)})
	}
	return d
}

func counted(f *form, name, label string, limit int, textarea bool) countedField {
	v := field(f, name, label, "text", "off")
	return countedField{fieldView: v, Max: limit, Count: utf8.RuneCountInString(v.Value), Textarea: textarea}
}

// integrationInput is what the form holds, for access.
func integrationInput(f *form, scopes []string) access.Input {
	return access.Input{Name: new(f.value("name")), Description: new(f.value("description")), Scopes: &scopes}
}

// chosenScopes are the ticked boxes of the checklist (or the hidden
// fields that carry them between the steps).
func chosenScopes(r *http.Request) []string { return r.PostForm["scopes"] }

// checkScopes asks the rule that a token never grants more than its maker
// may (access.Maker) for a person with the right: they may grant every
// scope, so nothing is refused today, but the rule stays in one place.
func checkScopes(f *form, scopes []string) {
	if missing := access.PersonMaker().Lacking(scopes); len(missing) > 0 {
		f.invalid("scopes", "You may not grant these scopes: "+strings.Join(scopeWords(missing), ", ")+".")
	}
}

// fromAccess takes access's errors into f. Its message about the scopes
// names their codes; the form says it in plain words instead.
func fromAccess(f *form, err error) bool {
	if !f.from(err) {
		return false
	}
	if _, bad := f.errs["scopes"]; bad {
		f.invalid("scopes", "Choose at least one scope.")
	}
	return true
}
