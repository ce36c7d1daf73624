package api_test

import (
	"context"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/logging"
	"github.com/liaison/liaison/internal/redistest"
	"github.com/liaison/liaison/jobs"
)

// cutProxy forwards TCP connections to a backend until it is cut: then it
// closes every connection it carries and stops listening, so that new ones
// are refused, as a server that went away refuses them; restore listens
// on the same address again. It stands in for a PostgreSQL or Redis
// restart without touching the shared servers.
type cutProxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	p := &cutProxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *cutProxy) pipe(c net.Conn) {
	b, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // cut meanwhile
		p.mu.Unlock()
		c.Close()
		b.Close()
		return
	}
	p.conns[c], p.conns[b] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(b, c); b.Close() }()
	_, _ = io.Copy(c, b)
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, b)
	p.mu.Unlock()
}

// cut closes every carried connection and refuses new ones.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// restore accepts connections again, on the same address.
func (p *cutProxy) restore() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(p.t, err, "listening again on %s", p.addr)
	p.serve(ln)
}

// via is rawURL with its host:port replaced by the proxy's.
func (p *cutProxy) via(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	u.Host = p.addr
	return u.String()
}

func hostOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	return u.Host
}

// outageServer is the API with intake, on the given database and Redis.
func outageServer(t *testing.T, d *db.DB, r *jobs.Redis) *httptest.Server {
	t.Helper()
	log := logging.New(io.Discard, "error", "text")
	conns, err := connections.New(connections.Options{DB: d, Redis: r.UniversalClient, Ring: apptest.NewRing(t), RedirectURI: "http://localhost/oauth/callback", Version: "test"})
	require.NoError(t, err)
	t.Cleanup(conns.Close)
	client := jobs.NewClient(r)
	t.Cleanup(func() { client.Close() })
	svc, err := hooks.New(hooks.Options{DB: d, Redis: r.UniversalClient, Ring: apptest.NewRing(t), Sender: conns, Queue: client, Log: log})
	require.NoError(t, err)
	imports, err := importer.NewStore(importer.StoreOptions{DB: d, Events: &connections.StoreEvents{DB: d}})
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Deps{Log: log, DB: d, Redis: r, Jobs: client, Tokens: tokenStore(t, d),
		Connections: conns, Hooks: svc, Imports: imports, Version: "test"}))
	t.Cleanup(srv.Close)
	return srv
}

// answer is what a request got: status, headers and the JSON body.
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func send(t *testing.T, srv *httptest.Server, method, path, token string, body any) answer {
	t.Helper()
	b := &apptest.Bundle{Server: srv}
	resp, out := b.Do(t, method, path, token, body)
	return answer{resp.StatusCode, resp.Header, out}
}

// requireUnavailable checks the one answer every route gives while a
// backend is out of reach.
func requireUnavailable(t *testing.T, a answer, what string) {
	t.Helper()
	require.Equal(t, http.StatusServiceUnavailable, a.status, "%s: %v", what, a.body)
	require.Equal(t, "application/problem+json", a.header.Get("Content-Type"), what)
	require.Equal(t, "3", a.header.Get("Retry-After"), what)
	require.Equal(t, "https://liaison.dev/problems/unavailable", a.body["type"], what)
	require.EqualValues(t, http.StatusServiceUnavailable, a.body["status"], what)
	require.NotEmpty(t, a.body["request_id"], what)
}

// TestDatabaseOutageIs503 cuts the database under a running API: intake,
// the token check (a valid token and an unknown one alike: neither can be
// looked up), a read route and /readyz answer 503 problem+json with
// Retry-After, never 500 or 401; once the database is back they answer as
// before. On PostgreSQL the cut is a TCP proxy that drops every connection
// and refuses new ones, and the restore listens again; SQLite has no
// network to cut, so there the pool is closed under the API (which has no
// way back) and only the 503s are checked.
func TestDatabaseOutageIs503(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := dbtest.New(t)
	var (
		proxy *cutProxy
		d     *db.DB
		err   error
	)
	if base.Dialect == db.Postgres {
		proxy = newCutProxy(t, hostOf(t, base.URL))
		d, err = db.Open(ctx, proxy.via(t, base.URL))
	} else {
		d, err = db.Open(ctx, base.URL)
	}
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	srv := outageServer(t, d, mustRedis(t))
	tokens := &apptest.Bundle{Tokens: tokenStore(t, base.DB)}
	token := tokens.Token(t, access.ScopeEventsWrite, access.ScopeHooksRead)
	// A well-formed token that is not (or no longer) stored: only a
	// look-up in the database can tell.
	unknown := tokens.Token(t, access.ScopeHooksRead)
	_, err = base.ExecContext(ctx, `DELETE FROM access_tokens WHERE secret_hash = $1`, sha256Of(unknown))
	require.NoError(t, err)

	event := func(id string) map[string]any {
		return map[string]any{"id": id, "type": "order.paid", "occurred_at": time.Now().UTC().Format(time.RFC3339), "profile": map[string]any{}, "data": map[string]any{}}
	}
	normal := func() {
		a := send(t, srv, http.MethodPost, "/v1/events", token, event("evt_before"))
		require.Equal(t, http.StatusAccepted, a.status, "%v", a.body)
		a = send(t, srv, http.MethodGet, "/v1/events/evt_before", token, nil)
		require.Equal(t, http.StatusOK, a.status, "%v", a.body)
		a = send(t, srv, http.MethodGet, "/v1/hooks", token, nil)
		require.Equal(t, http.StatusOK, a.status, "%v", a.body)
		a = send(t, srv, http.MethodGet, "/v1/hooks", unknown, nil)
		require.Equal(t, http.StatusUnauthorized, a.status, "%v", a.body)
		a = send(t, srv, http.MethodGet, "/readyz", "", nil)
		require.Equal(t, http.StatusOK, a.status, "%v", a.body)
	}
	normal()

	if proxy != nil {
		proxy.cut()
	} else {
		require.NoError(t, d.Close())
	}
	requireUnavailable(t, send(t, srv, http.MethodPost, "/v1/events", token, event("evt_during")), "intake")
	requireUnavailable(t, send(t, srv, http.MethodGet, "/v1/events/evt_before", token, nil), "read route")
	requireUnavailable(t, send(t, srv, http.MethodGet, "/v1/hooks", token, nil), "token check, valid token")
	requireUnavailable(t, send(t, srv, http.MethodGet, "/v1/hooks", unknown, nil), "token check, unknown token")
	ready := send(t, srv, http.MethodGet, "/readyz", "", nil)
	requireUnavailable(t, ready, "/readyz")
	require.Equal(t, []any{"database"}, ready.body["failing"])
	require.Equal(t, "ok", ready.body["checks"].(map[string]any)["redis"])

	if proxy == nil {
		return // SQLite: a closed pool does not come back
	}
	proxy.restore()
	// Connections the cut broke are dropped as they are found; within a
	// moment every route answers as before, and the event refused with 503
	// is accepted when sent again.
	require.Eventually(t, func() bool {
		return send(t, srv, http.MethodGet, "/readyz", "", nil).status == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond)
	normal()
	a := send(t, srv, http.MethodPost, "/v1/events", token, event("evt_during"))
	require.Equal(t, http.StatusAccepted, a.status, "%v", a.body)
}

// TestRedisOutageIs503 cuts Redis (real or embedded, through the proxy):
// /readyz and a route that must queue work now (a manual import run)
// answer 503 problem+json with Retry-After; intake still answers 202, since
// the events are stored and the sweep queues their deliveries; after the
// restore all answer as before.
func TestRedisOutageIs503(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := dbtest.New(t)
	redisURL := redistest.New(t)
	proxy := newCutProxy(t, hostOf(t, redisURL))
	r, err := jobs.OpenRedis(ctx, proxy.via(t, redisURL), logging.New(io.Discard, "error", "text"))
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	srv := outageServer(t, base.DB, r)
	token := (&apptest.Bundle{Tokens: tokenStore(t, base.DB)}).Token(t, access.ScopeEventsWrite, access.ScopeImportsWrite, access.ScopeImportsRead)

	importID := func() string {
		a := send(t, srv, http.MethodPost, "/v1/imports", token, map[string]any{"name": "feed", "url": "https://feeds.example/f.csv"})
		require.Equal(t, http.StatusCreated, a.status, "%v", a.body)
		return a.body["id"].(string)
	}
	before, during := importID(), importID()
	a := send(t, srv, http.MethodPost, "/v1/imports/"+before+"/run", token, nil)
	require.Equal(t, http.StatusAccepted, a.status, "%v", a.body)

	proxy.cut()
	requireUnavailable(t, send(t, srv, http.MethodPost, "/v1/imports/"+during+"/run", token, nil), "import run")
	ready := send(t, srv, http.MethodGet, "/readyz", "", nil)
	requireUnavailable(t, ready, "/readyz")
	require.Equal(t, []any{"redis"}, ready.body["failing"])
	a = send(t, srv, http.MethodPost, "/v1/events", token, map[string]any{"id": "evt_r", "type": "order.paid", "profile": map[string]any{}, "data": map[string]any{}})
	require.Equal(t, http.StatusAccepted, a.status, "stored; the sweep queues it: %v", a.body)

	proxy.restore()
	require.Eventually(t, func() bool {
		return send(t, srv, http.MethodGet, "/readyz", "", nil).status == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond)
	// The run refused with 503 is marked failed; a new one starts.
	a = send(t, srv, http.MethodPost, "/v1/imports/"+during+"/run", token, nil)
	require.Equal(t, http.StatusAccepted, a.status, "%v", a.body)
}

func mustRedis(t *testing.T) *jobs.Redis {
	t.Helper()
	r, err := jobs.OpenRedis(context.Background(), redistest.New(t), logging.New(io.Discard, "error", "text"))
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

func sha256Of(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// tokenStore is a store of access tokens on d, with the default overlap.
func tokenStore(t *testing.T, d *db.DB) *access.Store {
	t.Helper()
	s, err := access.New(access.Options{DB: d})
	require.NoError(t, err)
	return s
}
