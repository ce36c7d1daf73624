package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/redistest"
)

// TestFiveProcessesFitTheDatabaseTheREADMESizes runs one web and four
// worker processes, on the default DATABASE_POOL_SIZE, as a PostgreSQL role
// limited to the connections the README says they need (processes × pool
// size; the headroom it adds is for tools and the scheduler, which this
// test does not run), and sends 2,000 API calls at once through one bearer
// connection, each waiting for its result: every one succeeds, and the
// pools' waits show in /metrics. With 40 connections per process, as
// before, the processes used up the limit while warming up and calls
// failed with "too many connections".
//
// It needs PostgreSQL roles (CREATE ROLE … CONNECTION LIMIT), so it is
// limited to PostgreSQL: skipped when DATABASE_URL is unset, never when it
// is set. The pool's waiting and retrying are also tested on both
// dialects in internal/db.
func TestFiveProcessesFitTheDatabaseTheREADMESizes(t *testing.T) {
	t.Parallel()
	if os.Getenv("DATABASE_URL") == "" {
		t.Skip("needs PostgreSQL roles: DATABASE_URL is unset (SQLite has no connection limits to share)")
	}
	const (
		workers = 4
		calls   = 2000
	)
	database := dbtest.New(t)
	limit := (1 + workers) * db.DefaultPoolSize
	roleURL := dbtest.Role(t, database, limit)
	env := map[string]string{
		"DATABASE_URL":  roleURL,
		"REDIS_URL":     redistest.New(t),
		"SECRET_KEYS":   "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"ALLOWED_CIDRS": "127.0.0.0/8", // the receiver is on loopback
		"LOG_LEVEL":     "warn",
	}
	// The token is made as the database's owner, so that the processes
	// have the role's whole limit to themselves.
	token := cliToken(t, withVar(env, "DATABASE_URL", database.URL), "pool")

	webAddr := freeAddr(t)
	web := start(t, withVar(env, "LISTEN_ADDR", webAddr), "serve")
	procs := []*proc{web}
	healthAddrs := []string{webAddr}
	for range workers {
		addr := freeAddr(t)
		procs = append(procs, start(t, withVar(env, "HEALTH_ADDR", addr), "worker"))
		healthAddrs = append(healthAddrs, addr)
	}
	for i, p := range procs {
		waitReady(t, p, "http://"+healthAddrs[i]+"/readyz", 30*time.Second)
	}

	var received sync.Map
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		received.Store(string(body), true)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(recv.Close)
	api := apiCaller(t, webAddr, token)
	conn := api(http.MethodPost, "/v1/connections", map[string]any{"name": "CRM", "auth_type": "bearer", "base_url": recv.URL, "token": "crm-t0ken"}, http.StatusCreated)["id"].(string)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: calls}, Timeout: 60 * time.Second}
	type outcome struct {
		status int
		state  string
		err    error
	}
	outcomes := make([]outcome, calls)
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for i := range calls {
		wg.Go(func() {
			body, _ := json.Marshal(map[string]any{"connection_id": conn, "method": "POST", "path": "/contacts", "body": map[string]int{"n": i}, "wait": 30})
			req, _ := http.NewRequest(http.MethodPost, "http://"+webAddr+"/v1/calls", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			<-begin
			resp, err := client.Do(req)
			if err != nil {
				outcomes[i] = outcome{err: err}
				return
			}
			defer resp.Body.Close()
			var c struct {
				State string `json:"state"`
			}
			err = json.NewDecoder(resp.Body).Decode(&c)
			outcomes[i] = outcome{status: resp.StatusCode, state: c.State, err: err}
		})
	}
	started := time.Now()
	close(begin)
	wg.Wait()
	took := time.Since(started)

	failed := map[string]int{}
	for _, o := range outcomes {
		if o.err != nil || o.status != http.StatusOK || o.state != "succeeded" {
			failed[fmt.Sprintf("status %d, state %q, error %v", o.status, o.state, o.err)]++
		}
	}
	require.Empty(t, failed, "every call succeeded within its wait")
	n := 0
	received.Range(func(any, any) bool { n++; return true })
	require.Equal(t, calls, n, "the receiver got every call")
	t.Logf("%d calls through %d processes on %d connections in %s", calls, len(procs), limit, took.Round(time.Millisecond))

	// Each process kept to its pool; the waits for a free connection and
	// the connections tried again are counted in its /metrics.
	for i, addr := range healthAddrs {
		m := scrapeMetrics(t, "http://"+addr+"/metrics")
		require.Equal(t, float64(db.DefaultPoolSize), m[`go_sql_max_open_connections{db_name="liaison"}`], "process %d", i)
		require.Contains(t, m, `go_sql_wait_count_total{db_name="liaison"}`, "process %d", i)
		require.Contains(t, m, `liaison_db_connect_retries_total`, "process %d", i)
		t.Logf("process %d: %v waits for a connection (%.3f s in all), %v connections tried again", i,
			m[`go_sql_wait_count_total{db_name="liaison"}`], m[`go_sql_wait_duration_seconds_total{db_name="liaison"}`], m[`liaison_db_connect_retries_total`])
	}
	for _, p := range procs {
		require.Equal(t, 0, p.stop(t, 30*time.Second))
	}
}

var metricLine = regexp.MustCompile(`^([a-z_]+(?:\{[^}]*\})?) ([-+.e0-9]+|NaN)$`)

// scrapeMetrics reads a Prometheus text page into series → value.
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := map[string]float64{}
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if m := metricLine.FindSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(string(m[2]), 64)
			require.NoError(t, err)
			out[string(m[1])] = v
		}
	}
	return out
}
