package importer_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/redistest"
	"github.com/liaison/liaison/internal/retry"
)

// A run through a paused connection is postponed, not failed, says why,
// and fetches nothing; after Resume the next run of it imports the feed.
func TestPausedConnectionPostponesTheRun(t *testing.T) {
	t.Parallel()
	feed, fetched := countedFeed(t)

	d := dbtest.New(t)
	ropt, err := redis.ParseURL(redistest.New(t))
	require.NoError(t, err)
	rc := redis.NewClient(ropt)
	t.Cleanup(func() { rc.Close() })
	conns, err := connections.New(connections.Options{DB: d.DB, Redis: rc, Ring: apptest.NewRing(t),
		AllowedCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Log: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(conns.Close)
	ctx := context.Background()
	conn, err := conns.Create(ctx, connections.Input{Name: new("Shop"), AuthType: new(connections.AuthBearer), BaseURL: new(feed.URL), Token: new("t0ken")})
	require.NoError(t, err)

	b := setupRunnerOn(t, d, conns)
	im := b.create(t, importer.Input{Name: new("contacts"), ConnectionID: new(conn.ID), URL: new("/feed.json"), Format: new("json")})
	_, err = conns.Pause(ctx, conn.ID)
	require.NoError(t, err)
	run := b.newRun(t, im.ID, "schedule")
	var post *retry.Later
	require.ErrorAs(t, b.runner.Execute(ctx, run.ID), &post)
	require.NoError(t, post.Err, "a postponement, not a failure")
	r := b.getRun(t, run.ID)
	require.Equal(t, importer.StatusQueued, r.Status, "postponed, not failed")
	require.Equal(t, "waiting: connection "+conn.ID+" is paused", r.Message)
	require.Zero(t, fetched.Load(), "nothing fetched through a paused connection")

	_, err = conns.Resume(ctx, conn.ID)
	require.NoError(t, err)
	require.NoError(t, b.runner.Execute(ctx, run.ID), "the queue runs it again")
	r = b.getRun(t, run.ID)
	require.Equal(t, importer.StatusSucceeded, r.Status, r.Message)
	require.EqualValues(t, 1, fetched.Load())
}

// countedFeed serves a JSON feed of one item and counts its fetches.
func countedFeed(t *testing.T) (*httptest.Server, *atomic.Int32) {
	fetched := new(atomic.Int32)
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetched.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `[{"id":"1","name":"Ada"}]`)
	}))
	t.Cleanup(feed.Close)
	return feed, fetched
}

// TestResumeWakesTheWaitingRun: a run postponed through a paused
// connection goes as soon as the connection is resumed through the API,
// not after RunnerOptions.PostponeFor (30 s); the same wake follows a
// reconnection and a closed circuit.
func TestResumeWakesTheWaitingRun(t *testing.T) {
	t.Parallel()
	feed, fetched := countedFeed(t)
	b := apptest.SetupDeliveries(t, nil)
	conn, err := b.Conns.Create(t.Context(), connections.Input{Name: new("Shop"), AuthType: new(connections.AuthBearer), BaseURL: new(feed.URL), Token: new("t0ken")})
	require.NoError(t, err)
	admin := b.Token(t, access.ScopeConnectionsWrite, access.ScopeImportsWrite, access.ScopeImportsRead)
	resp, _ := b.Do(t, http.MethodPost, "/v1/connections/"+conn.ID+"/pause", admin, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, im := b.Do(t, http.MethodPost, "/v1/imports", admin, map[string]any{"name": "contacts", "connection_id": conn.ID, "url": "/feed.json", "format": "json"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", im)
	resp, run := b.Do(t, http.MethodPost, "/v1/imports/"+im["id"].(string)+"/run", admin, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%v", run)
	runOf := func() map[string]any {
		_, r := b.Do(t, http.MethodGet, "/v1/runs/"+run["id"].(string), admin, nil)
		return r
	}
	require.Eventually(t, func() bool { return runOf()["message"] == "waiting: connection "+conn.ID+" is paused" }, 20*time.Second, 20*time.Millisecond)
	require.Zero(t, fetched.Load())

	resp, _ = b.Do(t, http.MethodPost, "/v1/connections/"+conn.ID+"/resume", admin, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Eventually(t, func() bool { return runOf()["status"] == importer.StatusSucceeded }, 10*time.Second, 20*time.Millisecond,
		"the run goes on resume, well before its 30 s postponement ends: %v", runOf())
	require.EqualValues(t, 1, fetched.Load())
}
