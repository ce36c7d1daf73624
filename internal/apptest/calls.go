package apptest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/config"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/app"
	"github.com/liaison/liaison/internal/oauthfake"
	"github.com/liaison/liaison/jobs"
)

// CallBundle is the whole API-call path in one test: the API, the engine
// with a real worker on the test's own Redis, the connections service as
// its outbound client (loopback allowed), and the OAuth redirect URI
// pointing at this very server so that connecting works as in a browser.
// The call schedule is scaled to milliseconds.
type CallBundle struct {
	*Bundle
	Hooks       *hooks.Service
	Calls       *calls.Service
	Opts        hooks.Options
	CallOpts    calls.Options
	Secret      string // calls.write, connections.*, hooks.read
	RedirectURI string
}

// SetupCalls is the call bundle with the test Worker, the hooks' options
// tuned by tune (nil for none).
func SetupCalls(t *testing.T, tune func(*hooks.Options)) *CallBundle {
	t.Helper()
	return SetupCallsWith(t, Worker, tune, nil)
}

// SetupCallsWith is SetupCalls with a worker of the given size, tuning API
// calls too (after the hooks' options that calls take on: timeouts,
// Retry-After, reauthorization). The application is wired as the binary
// wires it (internal/app).
func SetupCallsWith(t *testing.T, wc jobs.WorkerOptions, tune func(*hooks.Options), tuneCalls func(*calls.Options)) *CallBundle {
	t.Helper()
	b := Setup(t)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	var (
		opts     hooks.Options
		callOpts calls.Options
	)
	a := b.StartApp(t, app.Options{
		Config: WorkerOptions(wc, config.Config{PublicURL: srv.URL, AllowedCIDRs: Loopback, MaxBodyBytes: 4 << 20}),
		Hooks: Tuned(&opts, func(o *hooks.Options) {
			o.Schedule, o.RequestTimeout = Schedule, 10*time.Second
			o.RetryAfterMax, o.ReauthRecheck = 1500*time.Millisecond, 200*time.Millisecond
		}, tune),
		Calls: Tuned(&callOpts, func(o *calls.Options) { o.Schedule = Schedule }, tuneCalls),
	})
	handler = api.New(a.APIDeps())
	b.Server = srv
	cb := &CallBundle{Bundle: b, Hooks: a.Hooks, Calls: a.Calls, Opts: opts, CallOpts: callOpts, RedirectURI: a.Config.RedirectURI()}
	cb.Secret = b.Token(t, access.ScopeCallsWrite, access.ScopeConnectionsWrite, access.ScopeConnectionsRead, access.ScopeHooksRead)
	return cb
}

// Req is b.Do with the bundle's token, requiring the status.
func (b *CallBundle) Req(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	resp, out := b.Do(t, method, path, b.Secret, body)
	require.Equal(t, want, resp.StatusCode, "%s %s answered %v", method, path, out)
	return out
}

// BearerConnection makes a connection with a static token to baseURL.
func (b *CallBundle) BearerConnection(t *testing.T, baseURL string, extra map[string]any) string {
	t.Helper()
	in := map[string]any{"name": "CRM", "auth_type": "bearer", "base_url": baseURL, "token": "crm-t0ken"}
	for k, v := range extra {
		in[k] = v
	}
	return b.Req(t, http.MethodPost, "/v1/connections", in, http.StatusCreated)["id"].(string)
}

// OAuthConnection makes an authorization-code connection to the fake
// provider and connects it as a person would.
func (b *CallBundle) OAuthConnection(t *testing.T, p *oauthfake.Provider) string {
	t.Helper()
	id := b.Req(t, http.MethodPost, "/v1/connections", map[string]any{
		"name": "CRM", "auth_type": "oauth2_authorization_code", "base_url": p.URL() + "/api",
		"client_id": ClientID, "client_secret": ClientSecret, "client_auth": "client_secret_basic",
		"authorization_url": p.AuthorizeURL(), "token_url": p.TokenURL(), "scopes": []string{"contacts.read", "offline_access"},
	}, http.StatusCreated)["id"].(string)
	b.Connect(t, p, id)
	return id
}

// Connect (re)connects connection id through the provider's authorize
// page and Liaison's callback, as a person would, and requires it
// connected.
func (b *CallBundle) Connect(t *testing.T, p *oauthfake.Provider, id string) {
	t.Helper()
	auth := b.Req(t, http.MethodPost, "/v1/connections/"+id+"/authorize", nil, http.StatusOK)
	Callback(t, p, auth["authorize_url"].(string)).RequireLanded(t, id, true)
	require.Equal(t, "connected", b.Req(t, http.MethodGet, "/v1/connections/"+id, nil, http.StatusOK)["status"])
}

// WaitCall polls a call until it is in the state.
func (b *CallBundle) WaitCall(t *testing.T, id, state string) map[string]any {
	t.Helper()
	var last map[string]any
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		last = b.Req(t, http.MethodGet, "/v1/calls/"+id, nil, http.StatusOK)
		assert.Equal(c, state, last["state"], "call %s: %v", id, last)
	}, 15*time.Second, 10*time.Millisecond)
	return last
}

// AttemptsOf is the attempts of a call as the API shows it.
func AttemptsOf(c map[string]any) []map[string]any {
	var out []map[string]any
	for _, a := range c["attempts"].([]any) {
		out = append(out, a.(map[string]any))
	}
	return out
}

// FieldsOf is the fields a problem's errors name, in order.
func FieldsOf(problem map[string]any) []string {
	var out []string
	errs, _ := problem["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}
