package api

import (
	"errors"
	"net/http"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/invalid"
)

// asProblem maps the errors domain packages return onto HTTP answers. An
// error it does not know stays as it is and is answered as a 500.
func asProblem(err error) error {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	if ie, ok := invalid.As(err); ok {
		errs := make([]FieldError, len(ie.Fields))
		for i, f := range ie.Fields {
			errs[i] = FieldError(f)
		}
		return unprocessable(errs...)
	}
	for _, m := range knownErrors {
		if errors.Is(err, m.err) {
			return problem(m.status, err.Error())
		}
	}
	return err
}

// knownErrors are sentinel errors of domain packages and their status.
var knownErrors = []struct {
	err    error
	status int
}{
	{access.ErrNotFound, http.StatusNotFound},
	{hooks.ErrNotFound, http.StatusNotFound},
	{hooks.ErrConflict, http.StatusConflict},
	{access.ErrNoRotation, http.StatusConflict},
	{access.ErrRotationInProgress, http.StatusConflict},
	{importer.ErrNotFound, http.StatusNotFound},
	{importer.ErrRunInProgress, http.StatusConflict},
	{importer.ErrRunFinished, http.StatusConflict},
}
