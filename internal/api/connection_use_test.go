package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/oauthfake"
)

// Pause and resume through the API: connections:write, idempotent, the
// connection in the answer; the refresh history and the times of last
// refresh, next refresh and last use in the connection's answer.
func TestPauseResumeAndRefreshesThroughTheAPI(t *testing.T) {
	t.Parallel()
	b := setupConnections(t)
	p := apptest.Provider(t, b.redirectURI, oauthfake.Options{RotateRefreshTokens: true})
	write := b.Token(t, access.ScopeConnectionsWrite, access.ScopeConnectionsRead)
	read := b.Token(t, access.ScopeConnectionsRead)
	resp, c := b.Do(t, http.MethodPost, "/v1/connections", write, map[string]any{
		"name": "CRM", "auth_type": "oauth2_authorization_code", "base_url": p.URL() + "/api",
		"client_id": apptest.ClientID, "client_secret": apptest.ClientSecret, "client_auth": "client_secret_basic",
		"authorization_url": p.AuthorizeURL(), "token_url": p.TokenURL(), "scopes": []string{"contacts.read", "offline_access"}, "test_path": "/me",
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", c)
	id := c["id"].(string)
	require.Equal(t, false, c["paused"])
	_, auth := b.Do(t, http.MethodPost, "/v1/connections/"+id+"/authorize", write, nil)
	apptest.Callback(t, p, auth["authorize_url"].(string)).RequireLanded(t, id, true)

	resp, _ = b.Do(t, http.MethodPost, "/v1/connections/"+id+"/pause", read, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "connections.read cannot pause")
	for range 2 {
		resp, c = b.Do(t, http.MethodPost, "/v1/connections/"+id+"/pause", write, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%v", c)
		require.Equal(t, true, c["paused"])
		require.NotEmpty(t, c["paused_at"])
		require.Equal(t, "connected", c["status"], "pausing keeps the status")
	}
	resp, res := b.Do(t, http.MethodPost, "/v1/connections/"+id+"/test", read, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, true, res["ok"], "a paused connection can be tested: %v", res)
	for range 2 {
		resp, c = b.Do(t, http.MethodPost, "/v1/connections/"+id+"/resume", write, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%v", c)
		require.Equal(t, false, c["paused"])
		require.NotContains(t, c, "paused_at")
	}
	require.NotEmpty(t, c["last_used_at"], "the test went through it")

	resp, c = b.Do(t, http.MethodPost, "/v1/connections/"+id+"/refresh", write, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", c)
	require.NotEmpty(t, c["last_refreshed_at"])
	require.NotEmpty(t, c["next_refresh_at"])
	p.FailNextToken(1, 400, `{"error":"invalid_grant","error_description":"consent withdrawn"}`)
	resp, _ = b.Do(t, http.MethodPost, "/v1/connections/"+id+"/refresh", write, nil)
	require.Equal(t, http.StatusConflict, resp.StatusCode)

	resp, refreshes := b.Do(t, http.MethodGet, "/v1/connections/"+id+"/refreshes", read, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", refreshes)
	data := refreshes["data"].([]any)
	require.Len(t, data, 2)
	require.Equal(t, "failed", data[0].(map[string]any)["outcome"])
	require.Equal(t, "invalid_grant: consent withdrawn", data[0].(map[string]any)["error"])
	require.Equal(t, "ok", data[1].(map[string]any)["outcome"])

	resp, _ = b.Do(t, http.MethodPost, "/v1/connections/conn_missing/pause", write, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = b.Do(t, http.MethodGet, "/v1/connections/conn_missing/refreshes", read, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}
