package invalid

import (
	"errors"
	"fmt"
	"strings"
)

// Field is one bad field: its JSON path ("api_key.name", "scopes[2]") and
// what is wrong in plain words.
type Field struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error collects every bad field of one input.
type Error struct{ Fields []Field }

// Add records a bad field.
func (e *Error) Add(field, format string, args ...any) {
	e.Fields = append(e.Fields, Field{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns e when it holds a field, nil otherwise, so a validator can end
// with `return errs.Err()`.
func (e *Error) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Names lists the fields e names, in order (a test or a form checks
// which are wrong without their messages).
func (e *Error) Names() []string {
	out := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		out[i] = f.Field
	}
	return out
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// New is an error about one field.
func New(field, format string, args ...any) error {
	e := &Error{}
	e.Add(field, format, args...)
	return e
}

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
