package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/apptest"
)

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	resp, doc := b.Do(t, http.MethodGet, "/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "3.1.0", doc["openapi"])
	paths := doc["paths"].(map[string]any)
	for _, rt := range b.API.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		item, ok := paths[path].(map[string]any)
		require.True(t, ok, "%s missing from /openapi.json", path)
		op, ok := item[strings.ToLower(method)].(map[string]any)
		require.True(t, ok, "%s missing from /openapi.json", rt.Pattern)
		if !rt.Public {
			require.Equal(t, rt.Scope, op["x-required-scope"], rt.Pattern)
		}
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	require.Contains(t, schemas, "AccessIssued")
	require.Contains(t, schemas["AccessToken"].(map[string]any)["properties"], "last_used_at")

	// Types of the same name in different packages keep their own schema:
	// the connection's request body is not the access token's.
	schemaOf := func(path, method string) map[string]any {
		op := paths[path].(map[string]any)[method].(map[string]any)
		ref := op["requestBody"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)["$ref"].(string)
		return schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)["properties"].(map[string]any)
	}
	require.Contains(t, schemaOf("/v1/connections", "post"), "auth_type")
	require.Contains(t, schemaOf("/v1/imports", "post"), "format")
	require.Contains(t, schemaOf("/v1/tokens", "post"), "scopes")

	// The documented success status is the one the handler answers.
	responses := func(path, method string) map[string]any {
		return paths[path].(map[string]any)[method].(map[string]any)["responses"].(map[string]any)
	}
	require.Contains(t, responses("/v1/events", "post"), "202")
	require.Contains(t, responses("/v1/events/batch", "post"), "202")
	require.Contains(t, responses("/v1/tokens", "post"), "201")
	require.Contains(t, responses("/v1/tokens/{id}", "delete"), "204")
	require.Contains(t, responses("/v1/connections/{id}", "delete"), "200")
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

// The API description says, wherever headers are given or shown, that
// their values are secrets but for the short list, which it names.
func TestOpenAPISaysHeadersAreSealedAndMasked(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	_, doc := b.Do(t, http.MethodGet, "/openapi.json", "", nil)
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"ConnectionsInput", "Connection", "HooksHookInput", "HooksHook", "HooksCallInput"} {
		require.Contains(t, schemas, name)
		headers := schemas[name].(map[string]any)["properties"].(map[string]any)["headers"].(map[string]any)
		desc, _ := headers["description"].(string)
		require.Contains(t, desc, "masked", name)
		require.Contains(t, desc, "Accept, Accept-Language, Content-Language, Content-Type, Version", name)
	}
}
