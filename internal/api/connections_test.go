package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/oauthfake"
)

// connBundle is the test bundle with the connections service wired in, and
// the redirect URI pointing at this very server, as PUBLIC_URL would.
type connBundle struct {
	*apptest.Bundle
	redirectURI string
}

func setupConnections(t *testing.T) *connBundle {
	t.Helper()
	b := apptest.Setup(t)
	ring := apptest.NewRing(t)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	redirect := srv.URL + "/oauth/callback"
	svc, err := connections.New(connections.Options{
		DB: b.DB.DB, Redis: b.Redis.UniversalClient, Ring: ring, RedirectURI: redirect, Version: "test",
		AllowedCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Events:       &connections.StoreEvents{DB: b.DB.DB},
	})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	a := api.New(api.Deps{Log: b.API.Log, DB: b.DB.DB, Redis: b.Redis, Tokens: b.Tokens, MaxBodyBytes: 1 << 20, Version: "test", Connections: svc})
	handler = a
	b.Server = srv
	return &connBundle{Bundle: b, redirectURI: redirect}
}

func TestConnectionLifecycleThroughTheAPI(t *testing.T) {
	t.Parallel()
	b := setupConnections(t)
	p := apptest.Provider(t, b.redirectURI, oauthfake.Options{ClientAuth: oauthfake.ClientSecretPost, RequirePKCE: true, RotateRefreshTokens: true})
	write := b.Token(t, access.ScopeConnectionsWrite, access.ScopeConnectionsRead)
	read := b.Token(t, access.ScopeConnectionsRead)

	body := map[string]any{
		"name": "CRM", "description": "contacts", "auth_type": "oauth2_authorization_code",
		"base_url": p.URL() + "/api", "client_id": apptest.ClientID, "client_secret": apptest.ClientSecret,
		"discovery_url": p.Issuer(), "client_auth": "client_secret_post", "scopes": []string{"contacts.read", "offline_access"},
		"authorization_params": map[string]string{"prompt": "consent"}, "headers": map[string]string{"Version": "2021-07-28"},
		"test_path": "/me",
	}
	resp, _ := b.Do(t, http.MethodPost, "/v1/connections", read, body)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "connections.read cannot create")

	resp, c := b.Do(t, http.MethodPost, "/v1/connections", write, body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", c)
	id := c["id"].(string)
	for _, f := range []string{"id", "name", "description", "auth_type", "status", "base_url", "allowed_hosts", "headers", "client_id",
		"client_secret", "authorization_url", "token_url", "revocation_url", "discovery_url", "scopes", "client_auth", "pkce",
		"authorization_params", "test_path", "redirect_uri", "last_error"} {
		require.Contains(t, c, f)
	}
	require.Equal(t, b.redirectURI, c["redirect_uri"])
	require.Equal(t, "c******e", c["client_secret"])
	require.Equal(t, p.TokenURL(), c["token_url"], "read from discovery")
	require.Equal(t, true, c["pkce"])
	require.Equal(t, "pending", c["status"])

	resp, _ = b.Do(t, http.MethodPatch, "/v1/connections/"+id, write, map[string]any{"redirect_uri": "https://evil.example/cb"})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "redirect_uri is read-only")

	resp, auth := b.Do(t, http.MethodPost, "/v1/connections/"+id+"/authorize", write, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", auth)
	apptest.Callback(t, p, auth["authorize_url"].(string)).RequireLanded(t, id, true)
	require.Equal(t, "consent", p.LastAuthorizeRequest().Get("prompt"))

	resp, c = b.Do(t, http.MethodGet, "/v1/connections/"+id, read, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "connected", c["status"])

	resp, res := b.Do(t, http.MethodPost, "/v1/connections/"+id+"/test", read, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", res)
	require.Equal(t, true, res["ok"], "%v", res)
	require.EqualValues(t, 200, res["status"])
	require.Contains(t, res, "latency_ms")

	resp, _ = b.Do(t, http.MethodPost, "/v1/connections/"+id+"/refresh", write, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 1, p.TokenRequestsByGrant("refresh_token"))

	// The user disconnects the app at the provider: refresh says so, the
	// connection shows it, the event is recorded.
	p.RevokeAll()
	resp, prob := b.Do(t, http.MethodPost, "/v1/connections/"+id+"/refresh", write, nil)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	require.Contains(t, prob["detail"], "invalid_grant")
	resp, c = b.Do(t, http.MethodGet, "/v1/connections/"+id, read, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "needs_reauth", c["status"])
	require.Contains(t, c["last_error"], "invalid_grant")
	var n int
	require.NoError(t, b.DB.QueryRowContext(context.Background(), `SELECT count(*) FROM system_events WHERE type = 'connection.needs_reauth'`).Scan(&n))
	require.Equal(t, 1, n)

	// Reconnecting works the same way.
	_, auth = b.Do(t, http.MethodPost, "/v1/connections/"+id+"/authorize", write, nil)
	apptest.Callback(t, p, auth["authorize_url"].(string)).RequireLanded(t, id, true)

	resp, listed := b.Do(t, http.MethodGet, "/v1/connections", read, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, listed["data"], 1)
	raw, _ := json.Marshal(listed)
	require.NotContains(t, string(raw), apptest.ClientSecret)

	resp, del := b.Do(t, http.MethodDelete, "/v1/connections/"+id, write, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, true, del["revoked"])
	require.True(t, p.GrantRevoked())
	resp, _ = b.Do(t, http.MethodGet, "/v1/connections/"+id, read, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestCallbackPageSaysWhyInPlainWords(t *testing.T) {
	t.Parallel()
	b := setupConnections(t)
	p := apptest.Provider(t, b.redirectURI, oauthfake.Options{RequirePKCE: true})
	write := b.Token(t, access.ScopeConnectionsWrite)
	resp, c := b.Do(t, http.MethodPost, "/v1/connections", write, map[string]any{
		"name": "CRM", "auth_type": "oauth2_authorization_code", "base_url": p.URL() + "/api",
		"client_id": apptest.ClientID, "client_secret": apptest.ClientSecret, "client_auth": "client_secret_basic",
		"authorization_url": p.AuthorizeURL(), "token_url": p.TokenURL(),
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", c)
	id := c["id"].(string)
	authorize := func() string {
		_, a := b.Do(t, http.MethodPost, "/v1/connections/"+id+"/authorize", write, nil)
		return a["authorize_url"].(string)
	}

	// The browser lands on the connection's page, which reads why from the
	// connection: nothing from the provider travels in the URL.
	lastError := func() string {
		t.Helper()
		_, c := b.Do(t, http.MethodGet, "/v1/connections/"+id, b.Token(t, access.ScopeConnectionsRead), nil)
		require.Equal(t, "pending", c["status"])
		return c["last_error"].(string)
	}
	p.DenyNext()
	apptest.Callback(t, p, authorize()).RequireLanded(t, id, false)
	require.Contains(t, lastError(), "denied at the provider (access_denied)")

	p.FailNextToken(1, http.StatusInternalServerError, "boom <script>alert(1)</script>")
	back := apptest.Callback(t, p, authorize())
	back.RequireLanded(t, id, false)
	require.NotContains(t, back.Location, "boom")
	require.Contains(t, lastError(), "did not give a token")
	require.NotContains(t, lastError(), apptest.ClientSecret)
	require.NotContains(t, lastError(), "goroutine")

	resp2, err := http.Get(b.Server.URL + "/oauth/callback?state=forged&code=x")
	require.NoError(t, err)
	page2, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp2.StatusCode)
	require.Contains(t, string(page2), "already used or is not one Liaison made")
}

func TestConnectionBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	b := setupConnections(t)
	write := b.Token(t, access.ScopeConnectionsWrite)
	base := func() map[string]any {
		return map[string]any{
			"name": "x", "auth_type": "oauth2_authorization_code", "base_url": "https://api.example.com",
			"client_id": "id", "authorization_url": "https://id.example.com/authorize", "token_url": "https://id.example.com/token",
		}
	}
	tests := []struct {
		edit  func(map[string]any)
		field string
	}{
		{func(m map[string]any) { delete(m, "client_id") }, "client_id"},
		{func(m map[string]any) { m["token_url"] = "http://id.example.com/token" }, "token_url"},
		{func(m map[string]any) { m["auth_type"] = "basic" }, "auth_type"},
		{func(m map[string]any) { m["scopes"] = []string{"contacts write"} }, "scopes[0]"},
		{func(m map[string]any) {
			m["auth_type"] = "api_key"
			m["api_key"] = map[string]string{"in": "body", "name": "k", "value": "v"}
		}, "api_key.in"},
	}
	for _, tc := range tests {
		body := base()
		tc.edit(body)
		resp, prob := b.Do(t, http.MethodPost, "/v1/connections", write, body)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%v", prob)
		var fields []string
		for _, e := range prob["errors"].([]any) {
			fields = append(fields, e.(map[string]any)["field"].(string))
		}
		require.Contains(t, fields, tc.field, "%v", prob)
	}
	resp, prob := b.Do(t, http.MethodPost, "/v1/connections", write, `{"name":"x","auth_type":"bearer","base_url":"https://a.example","token":"t0k3n","status":"connected"}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.True(t, strings.Contains(prob["detail"].(string), "not a known field"), "%v", prob)
}

// The list filters by auth type; an unknown one names the parameter.
func TestConnectionListByAuthType(t *testing.T) {
	t.Parallel()
	b := setupConnections(t)
	write := b.Token(t, access.ScopeConnectionsWrite, access.ScopeConnectionsRead)
	for _, body := range []string{
		`{"name":"mailer","auth_type":"bearer","base_url":"https://a.example","token":"t0k3n"}`,
		`{"name":"shop","auth_type":"api_key","base_url":"https://b.example","api_key":{"in":"header","name":"X-Key","value":"k3y"}}`,
	} {
		resp, c := b.Do(t, http.MethodPost, "/v1/connections", write, body)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", c)
	}
	names := func(query string) []string {
		resp, page := b.Do(t, http.MethodGet, "/v1/connections"+query, write, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%v", page)
		var out []string
		for _, c := range page["data"].([]any) {
			out = append(out, c.(map[string]any)["name"].(string))
		}
		return out
	}
	require.ElementsMatch(t, []string{"mailer", "shop"}, names(""))
	require.Equal(t, []string{"shop"}, names("?auth_type=api_key"))
	require.Equal(t, []string{"mailer"}, names("?auth_type=bearer&limit=1"))
	resp, prob := b.Do(t, http.MethodGet, "/v1/connections?auth_type=basic", write, nil)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%v", prob)
	require.Equal(t, []string{"auth_type"}, apptest.FieldsOf(prob))
}

// TestPatchCannotEmptyDiscoveredEndpoints: on a connection that reads its
// endpoints from discovery, an empty endpoint in an edit means "the one
// discovery names": it is read again, never stored empty.
func TestPatchCannotEmptyDiscoveredEndpoints(t *testing.T) {
	t.Parallel()
	b := setupConnections(t)
	p := apptest.Provider(t, b.redirectURI, oauthfake.Options{RequirePKCE: true})
	write := b.Token(t, access.ScopeConnectionsWrite, access.ScopeConnectionsRead)
	resp, c := b.Do(t, http.MethodPost, "/v1/connections", write, map[string]any{
		"name": "CRM", "auth_type": "oauth2_authorization_code", "base_url": p.URL() + "/api",
		"client_id": apptest.ClientID, "client_secret": apptest.ClientSecret, "discovery_url": p.Issuer(),
		"scopes": []string{"contacts.read"},
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", c)
	id := c["id"].(string)
	_, auth := b.Do(t, http.MethodPost, "/v1/connections/"+id+"/authorize", write, nil)
	apptest.Callback(t, p, auth["authorize_url"].(string)).RequireLanded(t, id, true)

	resp, c = b.Do(t, http.MethodPatch, "/v1/connections/"+id, write, map[string]any{"token_url": "", "authorization_url": ""})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", c)
	require.Equal(t, p.TokenURL(), c["token_url"], "read from discovery again")
	require.Equal(t, p.AuthorizeURL(), c["authorization_url"])
	resp, c = b.Do(t, http.MethodGet, "/v1/connections/"+id, write, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, p.TokenURL(), c["token_url"], "stored, not only shown")
	require.Equal(t, p.AuthorizeURL(), c["authorization_url"])
	require.Equal(t, "connected", c["status"], "the same endpoints: the token still matches")

	// Without discovery there is nothing to read them from: refused, by name.
	resp, c = b.Do(t, http.MethodPost, "/v1/connections", write, map[string]any{
		"name": "CRM 2", "auth_type": "oauth2_authorization_code", "base_url": p.URL() + "/api",
		"client_id": apptest.ClientID, "authorization_url": p.AuthorizeURL(), "token_url": p.TokenURL(),
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", c)
	resp, prob := b.Do(t, http.MethodPatch, "/v1/connections/"+c["id"].(string), write, map[string]any{"token_url": ""})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%v", prob)
	require.Contains(t, fmt.Sprint(prob["errors"]), "token_url")
}

// TestTraceparentIsPassedOn: a request that came in with a W3C traceparent
// makes the requests Liaison sends while serving it carry the same one.
func TestTraceparentIsPassedOn(t *testing.T) {
	t.Parallel()
	b := setupConnections(t)
	seen := make(chan string, 10)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("traceparent")
	}))
	t.Cleanup(target.Close)
	write := b.Token(t, access.ScopeConnectionsWrite, access.ScopeConnectionsRead)
	resp, c := b.Do(t, http.MethodPost, "/v1/connections", write, map[string]any{
		"name": "HighLevel", "auth_type": "bearer", "base_url": target.URL, "token": "pit-123", "test_path": "/me",
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", c)
	test := func(traceparent string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, b.Server.URL+"/v1/connections/"+c["id"].(string)+"/test", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+write)
		if traceparent != "" {
			req.Header.Set("traceparent", traceparent)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return <-seen
	}
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	require.Equal(t, tp, test(tp))
	require.Empty(t, test(""), "none came in, none goes out")
	require.Empty(t, test("00-not-a-trace"), "one that does not parse is not passed on")
}
