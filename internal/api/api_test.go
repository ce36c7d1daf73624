package api_test

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

type testBundle struct {
	srv     *httptest.Server
	api     *api.Server
	db      dbtest.Database
	redis   *jobs.Redis
	tokens  *access.Store
	imports *importer.Store
	jobs    *jobs.Client
	logs    *lockedWriter
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	ctx := context.Background()
	d := dbtest.New(t)
	logs := &lockedWriter{}
	log := logging.New(logs, "debug", "text")
	r, err := jobs.OpenRedis(ctx, redistest.New(t), log)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	c := jobs.NewClient(r)
	t.Cleanup(func() { c.Close() })
	tokens := access.NewStore(d.DB, 0)
	imports, err := importer.NewStore(importer.StoreOptions{DB: d.DB, Events: &connections.StoreEvents{DB: d.DB}})
	require.NoError(t, err)
	a := api.New(api.Deps{Log: log, DB: d.DB, Redis: r, Jobs: c, Tokens: tokens, Imports: imports, MaxBodyBytes: 1 << 20, Version: "test"})
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &testBundle{srv: srv, api: a, db: d, redis: r, tokens: tokens, imports: imports, jobs: c, logs: logs}
}

// token makes an access token with the given scopes and returns its secret.
func (b *testBundle) token(t *testing.T, scopes ...string) string {
	t.Helper()
	name := "test"
	issued, err := b.tokens.Create(context.Background(), access.Input{Name: &name, Scopes: &scopes}, "test")
	require.NoError(t, err)
	return issued.Secret
}

// do sends a request with an optional bearer token and JSON body and
// decodes a JSON answer.
func (b *testBundle) do(t *testing.T, method, path, secret string, body any) (*http.Response, map[string]any) {
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
	req, err := http.NewRequest(method, b.srv.URL+path, rd)
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

func get(t *testing.T, url string, hdr ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &body)
	return resp, body
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, body := get(t, b.srv.URL+"/healthz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ok", body["status"])

	resp, body = get(t, b.srv.URL+"/readyz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, map[string]any{"database": "ok", "redis": "ok"}, body["checks"])
}

func TestReadinessNamesWhatIsDown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.NoError(t, b.redis.Close())
	resp, body := get(t, b.srv.URL+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, []any{"redis"}, body["failing"])
	require.Equal(t, "ok", body["checks"].(map[string]any)["database"])

	require.NoError(t, b.db.Close())
	resp, body = get(t, b.srv.URL+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.ElementsMatch(t, []any{"redis", "database"}, body["failing"])
	// The answer is public: it names what is down, not the driver's words.
	require.Equal(t, "not answering", body["checks"].(map[string]any)["database"])
}

func TestReadinessWithoutWorker(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, body := get(t, b.srv.URL+"/readyz?worker=1")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, []any{"worker"}, body["failing"])
}

func TestRequestIDOnAnswerAndLogLines(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, _ := get(t, b.srv.URL+"/healthz", "X-Request-Id", "req-abcdef123")
	require.Equal(t, "req-abcdef123", resp.Header.Get("X-Request-Id"))

	resp, body := get(t, b.srv.URL+"/nowhere")
	id := resp.Header.Get("X-Request-Id")
	require.Len(t, id, 24, "a request id is made when none (or a bad one) comes in")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.Equal(t, id, body["request_id"])
	require.Contains(t, b.logs.String(), "request_id=req-abcdef123")
	require.Contains(t, b.logs.String(), "request_id="+id)
}

func TestUnknownRoutesAndMethodsAreProblems(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req, err := http.NewRequest(http.MethodDelete, b.srv.URL+"/healthz", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Allow"), "GET")
}

// testRing is a key ring with one fresh key.
// openApp builds the whole application on the bundle's database and Redis,
// as the binary does (internal/app), closed when the test ends.
func (b *testBundle) openApp(t *testing.T, o app.Options) *app.App {
	t.Helper()
	o.DB, o.Redis, o.Log, o.Version = b.db.DB, b.redis, b.api.Log, "test"
	if o.Ring == nil {
		o.Ring = testRing(t)
	}
	a, err := app.Open(context.Background(), o)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	return a
}

// startApp is openApp with a worker running, stopped when the test ends.
func (b *testBundle) startApp(t *testing.T, o app.Options) *app.App {
	t.Helper()
	a := b.openApp(t, o)
	w, err := a.StartWorker()
	require.NoError(t, err)
	t.Cleanup(w.Shutdown)
	return a
}

// tuned is an options tune that applies base and then tune (a test's
// own, or nil), and keeps the options that result in *kept.
func tuned[T any](kept *T, base func(*T), tune func(*T)) func(*T) {
	return func(o *T) {
		base(o)
		if tune != nil {
			tune(o)
		}
		*kept = *o
	}
}

// workerConfig is c with the worker's settings of wc, as the environment
// would give them.
func workerConfig(wc jobs.WorkerOptions, c config.Config) config.Config {
	c.WorkerConcurrency, c.DeliveryConcurrency, c.ShutdownTimeout, c.DeliveryPollInterval = wc.Concurrency, wc.DeliveryConcurrency, wc.ShutdownTimeout, wc.DeliveryPoll
	return c
}

// testLoopback is ALLOWED_CIDRS in the tests: their receivers are on loopback.
var testLoopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

func testRing(t *testing.T) *secret.Ring {
	t.Helper()
	key, err := secret.NewKey()
	require.NoError(t, err)
	ring, err := secret.NewRing([][]byte{key})
	require.NoError(t, err)
	return ring
}
