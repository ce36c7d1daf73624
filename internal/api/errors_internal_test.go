package api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/invalid"
)

// Every domain error the API knows, wrapped as the domain packages wrap
// them, and the answer it gets, written out.
func TestDomainErrorsAnswers(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("%w: thing x_1", err) }
	tokenDown := fmt.Errorf("%w: connection c_1: 503 from the provider", connections.ErrTokenEndpoint)
	cases := []struct {
		err  error
		want Problem
	}{
		{fmt.Errorf("refreshing: %w", &connections.ReauthError{ConnectionID: "c_1", Reason: "invalid_grant"}),
			Problem{Type: "https://liaison.dev/problems/needs-reauth", Status: 409, Detail: "the connection needs to be reconnected: invalid_grant"}},
		{wrap(connections.ErrNotFound), Problem{Type: "about:blank", Status: 404, Detail: "connection not found"}},
		{wrap(connections.ErrWrongType), Problem{Type: "about:blank", Status: 409, Detail: "connections: not possible for this auth type: thing x_1"}},
		{tokenDown, Problem{Type: "about:blank", Status: 502, Detail: connections.PlainError(tokenDown), RetryAfter: 30}},
		{invalid.New("name", "is required"), Problem{Type: "https://liaison.dev/problems/invalid-request", Status: 422,
			Detail: "the request has invalid fields", Errors: []FieldError{{Field: "name", Message: "is required"}}}},
		{wrap(access.ErrNotFound), Problem{Type: "about:blank", Status: 404, Detail: "access: token not found: thing x_1"}},
		{wrap(calls.ErrIdempotencyConflict), Problem{Type: "about:blank", Status: 409, Detail: "hooks: idempotency key reused with a different request: thing x_1",
			Errors: []FieldError{{Field: "idempotency_key", Message: "was used for a different request; a new request needs a new key"}}}},
		{wrap(hooks.ErrNotFound), Problem{Type: "about:blank", Status: 404, Detail: "hooks: not found: thing x_1"}},
		{wrap(calls.ErrNotFound), Problem{Type: "about:blank", Status: 404, Detail: "hooks: not found: thing x_1"}},
		{wrap(hooks.ErrConflict), Problem{Type: "about:blank", Status: 409, Detail: "hooks: conflict: thing x_1"}},
		{access.ErrNoRotation, Problem{Type: "about:blank", Status: 409, Detail: "access: no rotation in progress"}},
		{access.ErrRotationInProgress, Problem{Type: "about:blank", Status: 409, Detail: access.ErrRotationInProgress.Error()}},
		{wrap(importer.ErrNotFound), Problem{Type: "about:blank", Status: 404, Detail: "importer: not found: thing x_1"}},
		{importer.ErrRunInProgress, Problem{Type: "about:blank", Status: 409, Detail: importer.ErrRunInProgress.Error()}},
		{importer.ErrRunFinished, Problem{Type: "about:blank", Status: 409, Detail: importer.ErrRunFinished.Error()}},
	}
	require.Len(t, cases, len(domainErrors), "a case for every entry of domainErrors")
	for _, c := range cases {
		got, ok := errors.AsType[*Problem](asProblem(c.err))
		require.True(t, ok, "%v: no problem", c.err)
		c.want.Title = http.StatusText(c.want.Status)
		require.Equal(t, c.want, *got, "%v", c.err)
	}

	other := errors.New("disk on fire")
	require.Same(t, other, asProblem(other), "an unknown error stays as it is (a 500)")
	p := problem(http.StatusTeapot, "as is")
	require.Same(t, p, asProblem(fmt.Errorf("wrapped: %w", p)), "a problem is its own answer")
}
