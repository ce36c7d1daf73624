package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
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

// callBundle is the whole API-call path in one test: the API, the engine
// with a real worker on the test's own Redis, the connections service as
// its outbound client (loopback allowed), and the OAuth redirect URI
// pointing at this very server so that connecting works as in a browser.
// The call schedule is scaled to milliseconds.
type callBundle struct {
	*testBundle
	hooks       *hooks.Service
	calls       *calls.Service
	opts        hooks.Options
	callOpts    calls.Options
	secret      string // calls.write, connections.*, hooks.read
	redirectURI string
}

func setupCalls(t *testing.T, tune func(*hooks.Options)) *callBundle {
	t.Helper()
	return setupCallsWith(t, testWorker, tune, nil)
}

// setupCallsWith is setupCalls with a worker of the given size, tuning API
// calls too (after the hooks' options that calls take on: timeouts,
// Retry-After, reauthorization). The application is wired as the binary
// wires it (internal/app).
func setupCallsWith(t *testing.T, wc jobs.WorkerOptions, tune func(*hooks.Options), tuneCalls func(*calls.Options)) *callBundle {
	t.Helper()
	b := setup(t)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	var (
		opts     hooks.Options
		callOpts calls.Options
	)
	a := b.startApp(t, app.Options{
		Config: workerConfig(wc, config.Config{PublicURL: srv.URL, AllowedCIDRs: testLoopback, MaxBodyBytes: 4 << 20}),
		Hooks: tuned(&opts, func(o *hooks.Options) {
			o.Schedule, o.RequestTimeout = testSchedule, 10*time.Second
			o.RetryAfterMax, o.ReauthRecheck = 1500*time.Millisecond, 200*time.Millisecond
		}, tune),
		Calls: tuned(&callOpts, func(o *calls.Options) { o.Schedule = testSchedule }, tuneCalls),
	})
	handler = api.New(a.APIDeps())
	b.srv = srv
	cb := &callBundle{testBundle: b, hooks: a.Hooks, calls: a.Calls, opts: opts, callOpts: callOpts, redirectURI: a.Config.RedirectURI()}
	cb.secret = b.token(t, access.ScopeCallsWrite, access.ScopeConnectionsWrite, access.ScopeConnectionsRead, access.ScopeHooksRead)
	return cb
}

// req is b.do with the bundle's token, requiring the status.
func (b *callBundle) req(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	resp, out := b.do(t, method, path, b.secret, body)
	require.Equal(t, want, resp.StatusCode, "%s %s answered %v", method, path, out)
	return out
}

// bearerConnection makes a connection with a static token to baseURL.
func (b *callBundle) bearerConnection(t *testing.T, baseURL string, extra map[string]any) string {
	t.Helper()
	in := map[string]any{"name": "CRM", "auth_type": "bearer", "base_url": baseURL, "token": "crm-t0ken"}
	for k, v := range extra {
		in[k] = v
	}
	return b.req(t, http.MethodPost, "/v1/connections", in, http.StatusCreated)["id"].(string)
}

// oauthConnection makes an authorization-code connection to the fake
// provider and connects it as a person would.
func (b *callBundle) oauthConnection(t *testing.T, p *oauthfake.Provider) string {
	t.Helper()
	id := b.req(t, http.MethodPost, "/v1/connections", map[string]any{
		"name": "CRM", "auth_type": "oauth2_authorization_code", "base_url": p.URL() + "/api",
		"client_id": connClientID, "client_secret": connClientSecret, "client_auth": "client_secret_basic",
		"authorization_url": p.AuthorizeURL(), "token_url": p.TokenURL(), "scopes": []string{"contacts.read", "offline_access"},
	}, http.StatusCreated)["id"].(string)
	b.connect(t, p, id)
	return id
}

func (b *callBundle) connect(t *testing.T, p *oauthfake.Provider, id string) {
	t.Helper()
	auth := b.req(t, http.MethodPost, "/v1/connections/"+id+"/authorize", nil, http.StatusOK)
	status, page := callback(t, p, auth["authorize_url"].(string))
	require.Equal(t, http.StatusOK, status, page)
	require.Equal(t, "connected", b.req(t, http.MethodGet, "/v1/connections/"+id, nil, http.StatusOK)["status"])
}

// waitCall polls a call until it is in the state.
func (b *callBundle) waitCall(t *testing.T, id, state string) map[string]any {
	t.Helper()
	var last map[string]any
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		last = b.req(t, http.MethodGet, "/v1/calls/"+id, nil, http.StatusOK)
		assert.Equal(c, state, last["state"], "call %s: %v", id, last)
	}, 15*time.Second, 10*time.Millisecond)
	return last
}

func attemptsOf(c map[string]any) []map[string]any {
	var out []map[string]any
	for _, a := range c["attempts"].([]any) {
		out = append(out, a.(map[string]any))
	}
	return out
}

func fieldsOf(problem map[string]any) []string {
	var out []string
	errs, _ := problem["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

func TestWaitedCallReturnsTheRemoteAnswer(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	crm := newReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "crm-1")
		w.Header().Set("Set-Cookie", "session=s3cret")
		w.WriteHeader(http.StatusCreated)
		_, _ = fmt.Fprintf(w, `{"id":7,"method":%q}`, r.Method)
	})
	conn := b.bearerConnection(t, crm.URL+"/api", map[string]any{"headers": map[string]string{"Version": "2021-07-28"}})

	c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{
		"connection_id": conn, "method": "post", "path": "contacts?src=liaison", "query": map[string]string{"page": "2"},
		"headers": map[string]string{"X-Source": "scenario"}, "body": json.RawMessage(`{ "email": "ada@example.com", "age": 36, "big": 12345678901234567890 }`),
		"wait": 10,
	}, http.StatusOK)
	id := c["id"].(string)
	require.True(t, strings.HasPrefix(id, "call_"), id)
	require.Equal(t, "succeeded", c["state"])
	require.EqualValues(t, 1, c["attempt_count"])
	resp := c["response"].(map[string]any)
	require.EqualValues(t, 201, resp["status"])
	require.Equal(t, `{"id":7,"method":"POST"}`, resp["body"])
	require.Equal(t, map[string]any{"id": float64(7), "method": "POST"}, resp["json"])
	require.Equal(t, false, resp["truncated"])
	require.Equal(t, "crm-1", resp["headers"].(map[string]any)["X-Request-Id"])
	require.Equal(t, "[removed]", resp["headers"].(map[string]any)["Set-Cookie"], "secrets are not kept")

	got := crm.waitFor(t, 1)
	require.Len(t, got, 1)
	require.Equal(t, http.MethodPost, got[0].Method)
	u, err := url.Parse(got[0].Path)
	require.NoError(t, err)
	require.Equal(t, "/api/contacts", u.Path)
	require.Equal(t, url.Values{"src": {"liaison"}, "page": {"2"}}, u.Query())
	require.Equal(t, "Bearer crm-t0ken", got[0].Header.Get("Authorization"))
	require.Equal(t, "2021-07-28", got[0].Header.Get("Version"), "the connection's fixed headers")
	require.Equal(t, "scenario", got[0].Header.Get("X-Source"))
	require.Equal(t, "application/json", got[0].Header.Get("Content-Type"))
	require.Equal(t, id, got[0].Header.Get("Idempotency-Key"), "the call id, stable across retries")
	require.Equal(t, `{"email":"ada@example.com","age":36,"big":12345678901234567890}`, string(got[0].Body), "JSON as given, numbers exact")

	shown := b.req(t, http.MethodGet, "/v1/calls/"+id, nil, http.StatusOK)
	require.Equal(t, c["response"], shown["response"])
	at := attemptsOf(shown)
	require.Len(t, at, 1)
	require.Equal(t, "succeeded", at[0]["outcome"])
	require.NotContains(t, fmt.Sprint(at[0]["request_headers"]), "crm-t0ken", "credentials are never recorded")

	// A raw body goes as it is, with the content type the call gives.
	c = b.req(t, http.MethodPost, "/v1/calls", map[string]any{
		"connection_id": conn, "method": "PUT", "path": "/import", "headers": map[string]string{"Content-Type": "text/csv"},
		"body": "email,age\nada@example.com,36\n", "wait": 10,
	}, http.StatusOK)
	require.Equal(t, "succeeded", c["state"])
	got = crm.waitFor(t, 2)
	require.Equal(t, "text/csv", got[1].Header.Get("Content-Type"))
	require.Equal(t, "email,age\nada@example.com,36\n", string(got[1].Body))
}

func TestLongCallAnswers202ThenSucceeds(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	release := make(chan struct{})
	slow := newReceiver(t, func(_ int, _ *http.Request, w http.ResponseWriter) {
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"done":true}`))
	})
	conn := b.bearerConnection(t, slow.URL, nil)

	start := time.Now()
	c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "GET", "path": "/report", "wait": 0.3}, http.StatusAccepted)
	require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "the answer waited as asked")
	id := c["id"].(string)
	require.Contains(t, []any{"queued", "running"}, c["state"])
	require.Nil(t, c["response"])
	require.Equal(t, []any{}, c["attempts"])

	slow.waitFor(t, 1)
	require.Equal(t, "running", b.req(t, http.MethodGet, "/v1/calls/"+id, nil, http.StatusOK)["state"])
	close(release)
	c = b.waitCall(t, id, "succeeded")
	require.Equal(t, map[string]any{"done": true}, c["response"].(map[string]any)["json"])
	require.NotEmpty(t, c["finished_at"])

	require.NotContains(t, b.logs.String(), "subscribing to ended calls", "waiting used the Redis subscription")

	// Without wait the answer is at once.
	c = b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "GET", "path": "/report"}, http.StatusAccepted)
	require.Equal(t, "queued", c["state"])
	b.waitCall(t, c["id"].(string), "succeeded")
}

func TestCallRetriesA503ThenSucceeds(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	rc := newReceiver(t, func(n int, _ *http.Request, w http.ResponseWriter) {
		if n < 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("busy"))
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	conn := b.bearerConnection(t, rc.URL, nil)
	c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "POST", "path": "/x", "body": map[string]any{"n": 1}, "wait": 10}, http.StatusOK)
	require.Equal(t, "succeeded", c["state"])
	require.EqualValues(t, 3, c["attempt_count"])
	at := attemptsOf(c)
	require.Len(t, at, 3)
	for i, want := range []struct {
		status  float64
		outcome string
	}{{503, "retry"}, {503, "retry"}, {200, "succeeded"}} {
		require.Equal(t, want.status, at[i]["status"], "attempt %d", i+1)
		require.Equal(t, want.outcome, at[i]["outcome"], "attempt %d", i+1)
	}
	require.Equal(t, "ok", c["response"].(map[string]any)["body"])
	got := rc.requests()
	require.Len(t, got, 3)
	require.Equal(t, got[0].Header.Get("Idempotency-Key"), got[2].Header.Get("Idempotency-Key"))
	require.Equal(t, `{"n":1}`, string(got[2].Body), "every attempt sends the body again")
}

func TestCall400FailsAtOnceKeepingTheBody(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	rc := newReceiver(t, answerWith(http.StatusBadRequest, http.Header{"Content-Type": {"application/problem+json"}}, `{"error":"email is invalid"}`))
	conn := b.bearerConnection(t, rc.URL, nil)
	c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "POST", "path": "/contacts", "body": map[string]any{"email": "nope"}, "wait": 10}, http.StatusOK)
	require.Equal(t, "failed", c["state"])
	require.EqualValues(t, 1, c["attempt_count"], "a 400 is not retried")
	resp := c["response"].(map[string]any)
	require.EqualValues(t, 400, resp["status"])
	require.Equal(t, `{"error":"email is invalid"}`, resp["body"])
	require.Equal(t, map[string]any{"error": "email is invalid"}, resp["json"])
	require.Equal(t, "fail", attemptsOf(c)[0]["outcome"])
	require.Contains(t, c["last_error"], "400")
	require.Len(t, rc.requests(), 1)
}

func TestCall401RefreshesAndResendsOnce(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	p := connProvider(t, b.redirectURI, oauthfake.Options{RotateRefreshTokens: true})
	conn := b.oauthConnection(t, p)
	require.Zero(t, p.TokenRequestsByGrant("refresh_token"))

	// The provider ends the token early: the call's 401 gets a new one and
	// the request is sent again, within the same attempt.
	p.ExpireAll()
	c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "POST", "path": "contacts", "body": map[string]any{"a": 1}, "wait": 10}, http.StatusOK)
	require.Equal(t, "succeeded", c["state"], "%v", c)
	require.EqualValues(t, 1, c["attempt_count"])
	require.Equal(t, 1, p.TokenRequestsByGrant("refresh_token"))
	require.Equal(t, 2, p.Requests("/api/contacts"), "sent, refused, sent again")
	var echo oauthfake.Echo
	require.NoError(t, json.Unmarshal([]byte(c["response"].(map[string]any)["body"].(string)), &echo))
	require.Equal(t, `{"a":1}`, echo.Body, "the resend carries the body")

	// Once: a target that refuses the fresh token too gets no third request.
	p.Serve("/api/locked", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) })
	c = b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "GET", "path": "/locked", "wait": 10}, http.StatusOK)
	require.Equal(t, "failed", c["state"])
	require.EqualValues(t, 401, c["response"].(map[string]any)["status"])
	require.Equal(t, 2, p.Requests("/api/locked"))
	require.Equal(t, 2, p.TokenRequestsByGrant("refresh_token"))
}

func TestCallNeedsReauthPostponesThenCompletesAfterReconnect(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	p := connProvider(t, b.redirectURI, oauthfake.Options{RotateRefreshTokens: true})
	conn := b.oauthConnection(t, p)

	// The person disconnects the app at the provider.
	p.RevokeAll()
	c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "GET", "path": "/me"}, http.StatusAccepted)
	id := c["id"].(string)
	c = b.waitCall(t, id, "postponed")
	require.EqualValues(t, 0, c["attempt_count"], "waiting for a reconnection uses up no attempt")
	require.Contains(t, c["last_error"], "reconnected")
	require.NotEmpty(t, c["next_attempt_at"])
	require.Equal(t, "needs_reauth", b.req(t, http.MethodGet, "/v1/connections/"+conn, nil, http.StatusOK)["status"])
	// It looks again now and then (next_attempt_at moves on), sending
	// nothing and using up no attempt.
	firstCheck := c["next_attempt_at"]
	require.Eventually(t, func() bool {
		c = b.req(t, http.MethodGet, "/v1/calls/"+id, nil, http.StatusOK)
		return c["next_attempt_at"] != firstCheck
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, "postponed", c["state"])
	require.Equal(t, []any{}, c["attempts"])
	require.Equal(t, 1, p.Requests("/api/me"), "a connection that needs reconnecting sends nothing")

	b.connect(t, p, conn)
	c = b.waitCall(t, id, "succeeded")
	require.EqualValues(t, 1, c["attempt_count"])
	require.EqualValues(t, 200, c["response"].(map[string]any)["status"])
	require.Contains(t, c["response"].(map[string]any)["body"], `"sub":"user-1"`)
}

func TestReconnectingWakesAPostponedCallAtOnce(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, func(o *hooks.Options) { o.ReauthRecheck = time.Hour })
	api, allow := refusedUntilAllowed(t)
	conn := b.bearerConnection(t, api.URL, nil)
	c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "GET", "path": "/me"}, http.StatusAccepted)
	id := c["id"].(string)
	b.waitCall(t, id, "postponed")

	// A new token reconnects the connection (connection.connected): the
	// call runs now, not in an hour.
	allow()
	b.req(t, http.MethodPatch, "/v1/connections/"+conn, map[string]any{"token": "new-t0ken"}, http.StatusOK)
	c = b.waitCall(t, id, "succeeded")
	require.EqualValues(t, 1, c["attempt_count"])
	require.Equal(t, "Bearer new-t0ken", api.requests()[len(api.requests())-1].Header.Get("Authorization"))
}

func TestCallCallbackIsDeliveredSignedWithItsOwnRetries(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	crm := newReceiver(t, func(_ int, _ *http.Request, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"contact":42}`))
	})
	scenario := newReceiver(t, answerStatuses(http.StatusServiceUnavailable, http.StatusNoContent))
	conn := b.bearerConnection(t, crm.URL, nil)
	whsec, err := hooks.NewSecret()
	require.NoError(t, err)

	c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "POST", "path": "/contacts",
		"idempotency_key": "step-7", "callback_url": scenario.URL + "/steps/7/result", "callback_secret": whsec}, http.StatusAccepted)
	id := c["id"].(string)
	require.NotContains(t, fmt.Sprint(c), whsec, "the secret is never shown")

	got := scenario.waitFor(t, 2)
	require.Equal(t, got[0].Header.Get("webhook-id"), got[1].Header.Get("webhook-id"), "a retry is the same message")
	last := got[1]
	require.Equal(t, http.MethodPost, last.Method)
	require.Equal(t, "/steps/7/result", last.Path)
	require.NoError(t, hooks.Verify(whsec, last.Header, last.Body, time.Now(), 0))
	require.True(t, verifyByHand(t, whsec, last.Header, last.Body))
	var payload struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(last.Body, &payload))
	require.Equal(t, "call.completed", payload.Type)
	require.NotContains(t, payload.Data, "attempts", "the callback carries the answer, not every attempt")
	require.EqualValues(t, 1, payload.Data["attempt_count"])
	require.Equal(t, id, payload.Data["id"])
	require.Equal(t, "succeeded", payload.Data["state"])
	require.Equal(t, "step-7", payload.Data["idempotency_key"])
	require.Equal(t, map[string]any{"contact": float64(42)}, payload.Data["response"].(map[string]any)["json"])
	require.NotContains(t, string(last.Body), whsec)

	var shown map[string]any
	require.Eventually(t, func() bool {
		shown = b.req(t, http.MethodGet, "/v1/calls/"+id, nil, http.StatusOK)
		cb, _ := shown["callback"].(map[string]any)
		return cb != nil && cb["status"] == "succeeded"
	}, 10*time.Second, 10*time.Millisecond)
	cb := shown["callback"].(map[string]any)
	require.Equal(t, last.Header.Get("webhook-id"), cb["delivery_id"])
	d := b.req(t, http.MethodGet, "/v1/deliveries/"+cb["delivery_id"].(string), nil, http.StatusOK)
	require.Equal(t, id, d["call_id"])
	require.Equal(t, "call.completed", d["event_type"])
	require.EqualValues(t, 2, d["attempt_count"], "the callback has its own attempts")
}

func TestCallIdempotencyKeyBothWays(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	rc := newReceiver(t, nil)
	conn := b.bearerConnection(t, rc.URL, nil)
	first := map[string]any{"connection_id": conn, "method": "POST", "path": "/orders", "idempotency_key": "order-1",
		"body": json.RawMessage(`{"sku":"a","qty":2}`), "wait": 10}
	c := b.req(t, http.MethodPost, "/v1/calls", first, http.StatusOK)
	id := c["id"].(string)
	require.Equal(t, "succeeded", c["state"])
	require.Len(t, rc.requests(), 1)

	// The same request (written differently) is the same call: nothing is sent.
	same := map[string]any{"connection_id": conn, "method": "post", "path": "/orders", "idempotency_key": "order-1",
		"body": json.RawMessage(`{ "qty": 2, "sku": "a" }`), "wait": 10}
	resp, again := b.do(t, http.MethodPost, "/v1/calls", b.secret, same)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", again)
	require.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
	require.Equal(t, id, again["id"])
	require.EqualValues(t, 1, again["attempt_count"])
	require.Len(t, rc.requests(), 1, "no second request to the remote service")

	// The same key with another request is a conflict naming the key.
	other := map[string]any{"connection_id": conn, "method": "POST", "path": "/orders", "idempotency_key": "order-1", "body": map[string]any{"sku": "b", "qty": 2}}
	resp, prob := b.do(t, http.MethodPost, "/v1/calls", b.secret, other)
	require.Equal(t, http.StatusConflict, resp.StatusCode, "%v", prob)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.Equal(t, []string{"idempotency_key"}, fieldsOf(prob))
	require.Contains(t, prob["detail"], id)

	// Racing requests with one key make one call.
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[string]bool{}
	)
	raw := fmt.Sprintf(`{"connection_id":%q,"method":"GET","path":"/race","idempotency_key":"race"}`, conn)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/v1/calls", strings.NewReader(raw))
			req.Header.Set("Authorization", "Bearer "+b.secret)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			var out struct{ ID string }
			if json.NewDecoder(resp.Body).Decode(&out) == nil && (resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK) {
				mu.Lock()
				ids[out.ID] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, ids, 1, "five racing requests, one call: %v", ids)
	for raced := range ids {
		b.waitCall(t, raced, "succeeded")
	}
	n := 0
	for _, r := range rc.requests() {
		if r.Path == "/race" {
			n++
		}
	}
	require.Equal(t, 1, n)
}

func TestCallConnectionLimitsAreRespected(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	slow, most := slowReceiver(t, 80*time.Millisecond)
	paced := newReceiver(t, nil)
	capped := b.bearerConnection(t, slow.URL, map[string]any{"max_concurrency": 2})
	rated := b.bearerConnection(t, paced.URL, map[string]any{"rate_limit": 10})
	shown := b.req(t, http.MethodGet, "/v1/connections/"+capped, nil, http.StatusOK)
	require.EqualValues(t, 2, shown["max_concurrency"])
	require.EqualValues(t, 0, shown["rate_limit"])

	var ids []string
	for range 8 {
		c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": capped, "method": "GET", "path": "/slow"}, http.StatusAccepted)
		ids = append(ids, c["id"].(string))
	}
	for range 6 {
		c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": rated, "method": "GET", "path": "/paced"}, http.StatusAccepted)
		ids = append(ids, c["id"].(string))
	}
	slow.waitFor(t, 8)
	got := paced.waitFor(t, 6)
	seen := most()
	require.LessOrEqual(t, seen, 2, "never more than max_concurrency in flight")
	require.Equal(t, 2, seen)
	require.GreaterOrEqual(t, got[5].At.Sub(got[0].At), 450*time.Millisecond, "10 per second: 6 requests take at least 0.5 s")
	for _, id := range ids {
		c := b.waitCall(t, id, "succeeded")
		require.EqualValues(t, 1, c["attempt_count"], "waiting for a limit uses up no attempt")
	}

	resp, prob := b.do(t, http.MethodPatch, "/v1/connections/"+capped, b.secret, map[string]any{"max_concurrency": -1})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Equal(t, []string{"max_concurrency"}, fieldsOf(prob))
}

// A connection's limits hold for everything sent through it: the
// deliveries of its hooks and its API calls share one budget, so a CRM
// that allows one request at a time never gets two.
func TestConnectionLimitsHoldForHooksAndCallsTogether(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	crm, most := slowReceiver(t, 40*time.Millisecond)
	conn := b.bearerConnection(t, crm.URL, map[string]any{"max_concurrency": 1})
	writer := b.token(t, access.ScopeHooksWrite, access.ScopeHooksRead, access.ScopeEventsWrite)
	for _, name := range []string{"contacts", "deals"} {
		resp, h := b.do(t, http.MethodPost, "/v1/hooks", writer, map[string]any{
			"name": name, "event_types": []string{"form.sent"}, "connection_id": conn, "method": "POST", "url": "/" + name})
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", h)
	}
	var events []any
	for i := range 4 {
		events = append(events, map[string]any{"id": "form-" + strconv.Itoa(i), "type": "form.sent"})
	}
	resp, accepted := b.do(t, http.MethodPost, "/v1/events/batch", writer, map[string]any{"events": events})
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%v", accepted)
	var calls []string
	for range 4 {
		c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "GET", "path": "/lookup"}, http.StatusAccepted)
		calls = append(calls, c["id"].(string))
	}

	got := crm.waitFor(t, 12) // 4 events × 2 hooks, and 4 calls
	seen := most()
	require.Equal(t, 1, seen, "never more than the connection's max_concurrency in flight, hooks and calls together")
	paths := map[string]int{}
	for _, r := range got {
		paths[r.Path]++
	}
	require.Equal(t, map[string]int{"/contacts": 4, "/deals": 4, "/lookup": 4}, paths)
	for _, id := range calls {
		b.waitCall(t, id, "succeeded")
	}
}

func TestCall429WaitsWithoutUsingAnAttempt(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	rc := newReceiver(t, func(n int, _ *http.Request, w http.ResponseWriter) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	conn := b.bearerConnection(t, rc.URL, nil)
	// One attempt allowed: the 429 must not use it up.
	c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "GET", "path": "/busy",
		"retry": map[string]any{"max_attempts": 1}, "wait": 15}, http.StatusOK)
	require.Equal(t, "succeeded", c["state"], "%v", c)
	at := attemptsOf(c)
	require.Len(t, at, 2, "the 429 is recorded")
	require.EqualValues(t, 429, at[0]["status"])
	require.Equal(t, "retry", at[0]["outcome"])
	got := rc.requests()
	require.Len(t, got, 2)
	require.GreaterOrEqual(t, got[1].At.Sub(got[0].At), 950*time.Millisecond, "Retry-After: 1 is honoured")
}

func TestCallOutsideAllowedHostsIsRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	home := newReceiver(t, nil)
	partner := newReceiver(t, nil)
	stranger := newReceiver(t, nil)
	conn := b.bearerConnection(t, home.URL, map[string]any{"allowed_hosts": []string{strings.TrimPrefix(partner.URL, "http://")}})

	c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "POST", "path": stranger.URL + "/collect",
		"body": map[string]any{"a": 1}, "wait": 10}, http.StatusOK)
	require.Equal(t, "failed", c["state"])
	require.Nil(t, c["response"], "nothing answered: nothing was sent")
	at := attemptsOf(c)
	require.Len(t, at, 1, "a refusal is not retried")
	require.Contains(t, at[0]["error"], "allowed_hosts")
	require.Contains(t, c["last_error"], "not this connection's")
	require.Empty(t, stranger.requests())
	require.Empty(t, home.requests())

	c = b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "GET", "path": partner.URL + "/ok", "wait": 10}, http.StatusOK)
	require.Equal(t, "succeeded", c["state"])
	require.Equal(t, "Bearer crm-t0ken", partner.waitFor(t, 1)[0].Header.Get("Authorization"))
	require.Empty(t, stranger.requests())
}

func TestCallBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	rc := newReceiver(t, nil)
	conn := b.bearerConnection(t, rc.URL, nil)
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
		resp, prob := b.do(t, http.MethodPost, "/v1/calls", b.secret, body)
		require.Equal(t, tc.status, resp.StatusCode, "%s: %v", tc.name, prob)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), tc.name)
		require.Contains(t, fieldsOf(prob), tc.field, "%s: %v", tc.name, prob)
	}
	// A request larger than the API takes is refused before it is read.
	resp, prob := b.do(t, http.MethodPost, "/v1/calls", b.secret, map[string]any{"connection_id": conn, "method": "POST", "path": "/x", "body": strings.Repeat("x", 5<<20)})
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.Equal(t, []string{"body"}, fieldsOf(prob))

	require.Empty(t, rc.requests(), "nothing bad was sent")
	resp, _ = b.do(t, http.MethodGet, "/v1/calls/call_nope", b.secret, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// lostQueue stores calls but fails to queue them, as a web process that
// stops between the two would.
type lostQueue struct{ calls.Queue }

func (lostQueue) EnqueueCalls(context.Context, []string) error {
	return errors.New("the process stopped")
}

func TestSweepQueuesACallThatWasNeverQueued(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	rc := newReceiver(t, nil)
	conn := b.bearerConnection(t, rc.URL, nil)
	opts := b.callOpts
	opts.Queue = lostQueue{b.callOpts.Queue}
	web, err := calls.New(opts)
	require.NoError(t, err)
	c, _, err := web.Create(context.Background(), calls.CallInput{ConnectionID: conn, Method: "GET", Path: "/lost"})
	require.NoError(t, err, "the call is stored even if it could not be queued")
	require.Equal(t, "queued", c.State)

	// The minutely sweep, a little later, queues it.
	opts = b.callOpts
	opts.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	scheduler, err := calls.New(opts)
	require.NoError(t, err)
	n, err := scheduler.Sweep(context.Background(), time.Minute)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	b.waitCall(t, c.ID, "succeeded")
	require.Equal(t, "/lost", rc.waitFor(t, 1)[0].Path)
}

func TestCallsAreInTheOpenAPIDescription(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	_, doc := b.do(t, http.MethodGet, "/openapi.json", "", nil)
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

func TestCallRetentionRemovesEndedCalls(t *testing.T) {
	t.Parallel()
	b := setupCalls(t, nil)
	rc := newReceiver(t, nil)
	conn := b.bearerConnection(t, rc.URL, nil)
	whsec, err := hooks.NewSecret()
	require.NoError(t, err)
	c := b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "GET", "path": "/x", "idempotency_key": "kept",
		"callback_url": rc.URL + "/cb", "callback_secret": whsec}, http.StatusAccepted)
	id := c["id"].(string)
	var dlv string
	require.Eventually(t, func() bool {
		c = b.req(t, http.MethodGet, "/v1/calls/"+id, nil, http.StatusOK)
		cb, _ := c["callback"].(map[string]any)
		dlv, _ = cb["delivery_id"].(string)
		return c["state"] == "succeeded" && cb["status"] == "succeeded"
	}, 10*time.Second, 10*time.Millisecond)

	// The usual clock keeps it; one 25 hours ahead (past the default 24 h)
	// removes the call, its attempts and its callback.
	n, err := b.calls.Clean(context.Background())
	require.NoError(t, err)
	require.Zero(t, n)
	opts := b.callOpts
	opts.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	later, err := calls.New(opts)
	require.NoError(t, err)
	n, err = later.Clean(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	resp, _ := b.do(t, http.MethodGet, "/v1/calls/"+id, b.secret, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = b.do(t, http.MethodGet, "/v1/deliveries/"+dlv, b.secret, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	var left int
	require.NoError(t, b.db.QueryRowContext(context.Background(), `SELECT count(*) FROM attempts WHERE call_id = $1 OR delivery_id = $2`, id, dlv).Scan(&left))
	require.Zero(t, left, "the call's attempts and its callback's went with it")

	// The key is free again once its call is gone.
	c = b.req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "GET", "path": "/y", "idempotency_key": "kept"}, http.StatusAccepted)
	require.NotEqual(t, id, c["id"])

	// The scheduler runs retention every hour, beside a sweep.
	tasks, err := jobs.CallHousekeeping{}.PeriodicTasks()
	require.NoError(t, err)
	var types []string
	for _, tk := range tasks {
		types = append(types, tk.Task.Type()+" "+tk.Cronspec)
	}
	require.ElementsMatch(t, []string{"call:sweep @every 5s", "call:clean @every 1h"}, types)
}
