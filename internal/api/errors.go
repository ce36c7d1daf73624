package api

import (
	"errors"
	"net/http"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/invalid"
)

// asProblem maps the errors domain packages return onto HTTP answers
// (domainErrors). An error it does not know stays as it is and is answered
// as a 500, or a 503 when the database or Redis is out of reach
// (writeProblem).
func asProblem(err error) error {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	for _, m := range domainErrors {
		if m.is(err) {
			return m.answer(err)
		}
	}
	return err
}

// domainErrors is every error of a domain package that the API answers
// with something other than a 500, and that answer; the first that err is
// wins. The sentinels' answers carry err's text as their detail.
var domainErrors = []struct {
	is     func(error) bool
	answer func(error) *Problem
}{
	{isType[*connections.ReauthError], func(err error) *Problem {
		re, _ := errors.AsType[*connections.ReauthError](err)
		p := problem(http.StatusConflict, "the connection needs to be reconnected: "+re.Reason)
		p.Type = "https://liaison.dev/problems/needs-reauth"
		return p
	}},
	{is(connections.ErrNotFound), func(error) *Problem { return notFound("connection") }},
	{is(connections.ErrWrongType), withDetail(http.StatusConflict)},
	{is(connections.ErrTokenEndpoint), func(err error) *Problem {
		p := problem(http.StatusBadGateway, connections.PlainError(err))
		p.RetryAfter = 30
		return p
	}},
	{isType[*invalid.Error], func(err error) *Problem {
		ie, _ := invalid.As(err)
		errs := make([]FieldError, len(ie.Fields))
		for i, f := range ie.Fields {
			errs[i] = FieldError(f)
		}
		return unprocessable(errs...)
	}},
	{is(access.ErrNotFound), withDetail(http.StatusNotFound)},
	{is(calls.ErrIdempotencyConflict), func(err error) *Problem {
		p := problem(http.StatusConflict, err.Error())
		p.Errors = []FieldError{{Field: "idempotency_key", Message: "was used for a different request; a new request needs a new key"}}
		return p
	}},
	{is(hooks.ErrNotFound), withDetail(http.StatusNotFound)},
	{is(calls.ErrNotFound), withDetail(http.StatusNotFound)},
	{is(hooks.ErrConflict), withDetail(http.StatusConflict)},
	{is(access.ErrNoRotation), withDetail(http.StatusConflict)},
	{is(access.ErrRotationInProgress), withDetail(http.StatusConflict)},
	{is(importer.ErrNotFound), withDetail(http.StatusNotFound)},
	{is(importer.ErrRunInProgress), withDetail(http.StatusConflict)},
	{is(importer.ErrRunFinished), withDetail(http.StatusConflict)},
}

// is matches a sentinel error, isType an error type.
func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func isType[E error](err error) bool {
	_, ok := errors.AsType[E](err)
	return ok
}

// withDetail answers with status and err's text.
func withDetail(status int) func(error) *Problem {
	return func(err error) *Problem { return problem(status, err.Error()) }
}
