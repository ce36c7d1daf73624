package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/config"
	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/app"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/logging"
	"github.com/liaison/liaison/internal/redistest"
	"github.com/liaison/liaison/internal/secret"
	"github.com/liaison/liaison/jobs"
)

// Bundle is what every story starts from: a database and a Redis of the
// test's own, an API server over them (Server, an httptest server), the
// stores the API reads and a log that tests can read back.
type Bundle struct {
	Server  *httptest.Server
	API     *api.Server
	DB      dbtest.Database
	Redis   *jobs.Redis
	Tokens  *access.Store
	Imports *importer.Store
	Jobs    *jobs.Client
	Logs    *LockedWriter
}

// Setup builds a Bundle for t (a database from dbtest, a Redis from
// redistest) and closes it when the test ends.
func Setup(t *testing.T) *Bundle {
	t.Helper()
	ctx := context.Background()
	d := dbtest.New(t)
	logs := &LockedWriter{}
	log := logging.New(logs, "debug", "text")
	r, err := jobs.OpenRedis(ctx, redistest.New(t), log)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	c := jobs.NewClient(r)
	t.Cleanup(func() { c.Close() })
	tokens, err := access.New(access.Options{DB: d.DB})
	require.NoError(t, err)
	imports, err := importer.NewStore(importer.StoreOptions{DB: d.DB, Events: &connections.StoreEvents{DB: d.DB}})
	require.NoError(t, err)
	a := api.New(api.Deps{Log: log, DB: d.DB, Redis: r, Jobs: c, Tokens: tokens, Imports: imports, MaxBodyBytes: 1 << 20, Version: "test"})
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &Bundle{Server: srv, API: a, DB: d, Redis: r, Tokens: tokens, Imports: imports, Jobs: c, Logs: logs}
}

// Token makes an access token with the given scopes and returns its secret.
func (b *Bundle) Token(t *testing.T, scopes ...string) string {
	t.Helper()
	name := "test"
	issued, err := b.Tokens.Create(context.Background(), access.Input{Name: &name, Scopes: &scopes}, "test")
	require.NoError(t, err)
	return issued.Secret
}

// Do sends a request to the bundle's server with an optional bearer token
// and body (nil, a string, bytes, or a value sent as JSON) and decodes a
// JSON answer.
func (b *Bundle) Do(t *testing.T, method, path, secret string, body any) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	case []byte:
		rd = bytes.NewReader(v)
	default:
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.Server.URL+path, rd)
	require.NoError(t, err)
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "answer is not JSON: %s", raw)
	}
	return resp, out
}

// OpenApp builds the whole application on the bundle's database and Redis,
// as the binary does (internal/app), closed when the test ends.
func (b *Bundle) OpenApp(t *testing.T, o app.Options) *app.App {
	t.Helper()
	o.DB, o.Redis, o.Log, o.Version = b.DB.DB, b.Redis, b.API.Log, "test"
	if o.Ring == nil {
		o.Ring = NewRing(t)
	}
	a, err := app.Open(context.Background(), o)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	return a
}

// StartApp is OpenApp with a worker running, stopped when the test ends.
func (b *Bundle) StartApp(t *testing.T, o app.Options) *app.App {
	t.Helper()
	a := b.OpenApp(t, o)
	w, err := a.StartWorker()
	require.NoError(t, err)
	t.Cleanup(w.Shutdown)
	return a
}

// Tuned is an options tune that applies base and then tune (a test's
// own, or nil), and keeps the options that result in *kept.
func Tuned[T any](kept *T, base func(*T), tune func(*T)) func(*T) {
	return func(o *T) {
		base(o)
		if tune != nil {
			tune(o)
		}
		*kept = *o
	}
}

// WorkerOptions is c with the worker's settings of wc, as the environment
// would give them.
func WorkerOptions(wc jobs.WorkerOptions, c config.Config) config.Config {
	c.WorkerConcurrency, c.DeliveryConcurrency, c.ShutdownTimeout, c.DeliveryPollInterval = wc.Concurrency, wc.DeliveryConcurrency, wc.ShutdownTimeout, wc.DeliveryPoll
	return c
}

// Loopback is ALLOWED_CIDRS in the tests: their receivers are on loopback.
var Loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// NewRing is a key ring with one fresh key.
func NewRing(t *testing.T) *secret.Ring {
	t.Helper()
	key, err := secret.NewKey()
	require.NoError(t, err)
	ring, err := secret.NewRing([][]byte{key})
	require.NoError(t, err)
	return ring
}
