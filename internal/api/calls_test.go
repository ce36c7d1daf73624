package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/apptest"
)

func TestCallBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	b := apptest.SetupCalls(t, nil)
	rc := apptest.NewReceiver(t, nil)
	conn := b.BearerConnection(t, rc.URL, nil)
	base := func() map[string]any {
		return map[string]any{"connection_id": conn, "method": "POST", "path": "/x"}
	}
	tests := []struct {
		name   string
		edit   func(map[string]any)
		status int
		field  string
	}{
		{"unknown connection", func(m map[string]any) { m["connection_id"] = "conn_nope" }, 422, "connection_id"},
		{"no connection", func(m map[string]any) { delete(m, "connection_id") }, 422, "connection_id"},
		{"not an HTTP method", func(m map[string]any) { m["method"] = "FETCH" }, 422, "method"},
		{"no method", func(m map[string]any) { delete(m, "method") }, 422, "method"},
		{"no path", func(m map[string]any) { delete(m, "path") }, 422, "path"},
		{"not http", func(m map[string]any) { m["path"] = "ftp://files.example.com/x" }, 422, "path"},
		{"wait too long", func(m map[string]any) { m["wait"] = 31 }, 422, "wait"},
		{"wait negative", func(m map[string]any) { m["wait"] = -1 }, 422, "wait"},
		{"wait not a number", func(m map[string]any) { m["wait"] = "10s" }, 400, "wait"},
		{"body over the limit", func(m map[string]any) { m["body"] = strings.Repeat("x", calls.MaxCallBody) }, 422, "body"},
		{"raw body not a string", func(m map[string]any) {
			m["headers"] = map[string]string{"Content-Type": "text/plain"}
			m["body"] = map[string]any{"a": 1}
		}, 422, "body"},
		{"credential header", func(m map[string]any) { m["headers"] = map[string]string{"Authorization": "Bearer x"} }, 422, "headers.Authorization"},
		{"callback without secret", func(m map[string]any) { m["callback_url"] = rc.URL }, 422, "callback_secret"},
		{"callback secret malformed", func(m map[string]any) {
			m["callback_url"] = rc.URL
			m["callback_secret"] = "hunter2"
		}, 422, "callback_secret"},
		{"callback not a URL", func(m map[string]any) {
			m["callback_url"] = "/relative"
			m["callback_secret"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		}, 422, "callback_url"},
		{"schedule step", func(m map[string]any) { m["retry"] = map[string]any{"schedule": []string{"0s", "soon"}} }, 422, "retry.schedule[1]"},
		{"schedule a day long", func(m map[string]any) { m["retry"] = map[string]any{"schedule": []string{"0s", "24h"}} }, 422, "retry"},
		{"unknown field", func(m map[string]any) { m["priority"] = "high" }, 400, "priority"},
		{"timeout", func(m map[string]any) { m["timeout_ms"] = 600_000 }, 422, "timeout_ms"},
		{"key too long", func(m map[string]any) { m["idempotency_key"] = strings.Repeat("k", 300) }, 422, "idempotency_key"},
	}
	for _, tc := range tests {
		body := base()
		tc.edit(body)
		resp, prob := b.Do(t, http.MethodPost, "/v1/calls", b.Secret, body)
		require.Equal(t, tc.status, resp.StatusCode, "%s: %v", tc.name, prob)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), tc.name)
		require.Contains(t, apptest.FieldsOf(prob), tc.field, "%s: %v", tc.name, prob)
	}
	// A request larger than the API takes is refused before it is read.
	resp, prob := b.Do(t, http.MethodPost, "/v1/calls", b.Secret, map[string]any{"connection_id": conn, "method": "POST", "path": "/x", "body": strings.Repeat("x", 5<<20)})
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.Equal(t, []string{"body"}, apptest.FieldsOf(prob))

	require.Empty(t, rc.Requests(), "nothing bad was sent")
	resp, _ = b.Do(t, http.MethodGet, "/v1/calls/call_nope", b.Secret, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestCallsAreInTheOpenAPIDescription(t *testing.T) {
	t.Parallel()
	b := apptest.SetupCalls(t, nil)
	_, doc := b.Do(t, http.MethodGet, "/openapi.json", "", nil)
	paths := doc["paths"].(map[string]any)
	post := paths["/v1/calls"].(map[string]any)["post"].(map[string]any)
	require.Equal(t, access.ScopeCallsWrite, post["x-required-scope"])
	require.Contains(t, post["responses"], "202")
	get := paths["/v1/calls/{id}"].(map[string]any)["get"].(map[string]any)
	require.Equal(t, access.ScopeCallsWrite, get["x-required-scope"])
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	in := schemas["HooksCallInput"].(map[string]any)["properties"].(map[string]any)
	for _, f := range []string{"connection_id", "method", "path", "query", "headers", "body", "idempotency_key", "callback_url", "wait"} {
		require.Contains(t, in, f)
	}
	out := schemas["HooksCall"].(map[string]any)["properties"].(map[string]any)
	for _, f := range []string{"id", "state", "response", "attempts"} {
		require.Contains(t, out, f)
	}
}
