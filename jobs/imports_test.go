package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/importer/feedgen"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/oauthfake"
	"github.com/liaison/liaison/internal/redistest"
)

type importBundle struct {
	store  *importer.Store
	client *Client
	conns  *connections.Service
	p      *oauthfake.Provider
	connID string
}

// setupImports starts a worker with the import handlers, a connections
// service, and an OAuth2 connection (already connected) to a strict fake
// provider whose /api/feed.xml is a protected YML feed.
func setupImports(t *testing.T) *importBundle {
	t.Helper()
	r, d, _, svc := openServices(t)

	p := oauthfake.New(t, oauthfake.Options{
		ClientID: "shop", ClientSecret: "s3cret+/=", ClientAuth: oauthfake.ClientSecretPost,
		RedirectURIs: []string{testRedirect}, RequirePKCE: true, RotateRefreshTokens: true, AccessTTL: time.Hour,
	})
	ctx := context.Background()
	v, err := svc.Create(ctx, connections.Input{
		Name: new("shop feed"), AuthType: new(connections.AuthOAuth2Code), BaseURL: new(p.URL() + "/api"),
		ClientID: new("shop"), ClientSecret: new("s3cret+/="), DiscoveryURL: new(p.Issuer()), ClientAuth: new("client_secret_post"),
	})
	require.NoError(t, err)
	connect(t, svc, p, v.ID)

	store, err := importer.NewStore(importer.StoreOptions{DB: d.DB, Events: &connections.StoreEvents{DB: d.DB}})
	require.NoError(t, err)
	runner, err := importer.NewRunner(importer.RunnerOptions{Store: store, Sender: svc, Log: testLogger(t)})
	require.NoError(t, err)
	c := newClient(t, r)
	startWorker(t, r, WorkerOptions{Concurrency: 4, ShutdownTimeout: time.Second}, Deps{Client: c, Imports: store, ImportRunner: runner})
	return &importBundle{store: store, client: c, conns: svc, p: p, connID: v.ID}
}

func waitRun(t *testing.T, store *importer.Store, runID string) importer.Run {
	t.Helper()
	var run importer.Run
	require.Eventually(t, func() bool {
		var err error
		run, err = store.GetRun(context.Background(), runID)
		require.NoError(t, err)
		return run.Status != importer.StatusQueued && run.Status != importer.StatusRunning
	}, 20*time.Second, 20*time.Millisecond)
	return run
}

func TestProtectedFeedThroughOAuth2WithTokenExpiringBetweenRuns(t *testing.T) {
	t.Parallel()
	b := setupImports(t)
	var feed bytes.Buffer
	require.NoError(t, feedgen.Write(&feed, feedgen.Options{Format: "yml", Items: 120, Seed: 3}))
	b.p.Serve("/api/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write(feed.Bytes())
	})
	ctx := context.Background()
	im, err := b.store.Create(ctx, importer.Input{Name: new("shop"), ConnectionID: &b.connID, URL: new("/feed.xml"), Format: new("yml")}, nil)
	require.NoError(t, err)

	run, err := b.client.StartImportRun(ctx, b.store, im.ID, "manual")
	require.NoError(t, err)
	run = waitRun(t, b.store, run.ID)
	require.Equal(t, importer.StatusSucceeded, run.Status, run.Message)
	require.EqualValues(t, 120, run.Counts.Created)

	// The access token expires before the next scheduled run: the run
	// refreshes it (once) and goes on.
	b.p.ExpireAll()
	run, err = b.client.StartImportRun(ctx, b.store, im.ID, "schedule")
	require.NoError(t, err)
	run = waitRun(t, b.store, run.ID)
	require.Equal(t, importer.StatusSucceeded, run.Status, run.Message)
	require.EqualValues(t, 120, run.Counts.Unchanged)
	require.Equal(t, 1, b.p.TokenRequestsByGrant("refresh_token"))

	var events int
	require.NoError(t, b.store.DB().QueryRowContext(ctx, `SELECT count(*) FROM system_events WHERE type = 'import.completed'`).Scan(&events))
	require.Equal(t, 2, events)
}

func TestScheduledRunIsSkippedWhileOneIsInProgress(t *testing.T) {
	t.Parallel()
	b := setupImports(t)
	ctx := context.Background()
	im, err := b.store.Create(ctx, importer.Input{Name: new("x"), URL: new("https://feeds.example/f.csv")}, nil)
	require.NoError(t, err)
	first, err := b.store.NewRun(ctx, im.ID, "manual") // queued, never handed to the queue
	require.NoError(t, err)

	h := handleImportSchedule(b.store, b.client, testLogger(t))
	task := asynq.NewTask(TypeImportSchedule, []byte(`{"import_id":"`+im.ID+`"}`))
	require.NoError(t, h(ctx, task), "an overlapping firing is skipped, not an error")
	runs, _, err := b.store.Runs(ctx, im.ID, "", 10)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, first.ID, runs[0].ID)

	_, err = b.client.StartImportRun(ctx, b.store, im.ID, "manual")
	require.ErrorIs(t, err, importer.ErrRunInProgress)
}

// A run that cannot be handed to the queue ends at once, failed, and says
// so with import.failed; the import is free for its next run.
func TestARunThatCannotBeQueuedFailsAndSaysSo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, err := OpenRedis(ctx, redistest.New(t), testLogger(t))
	require.NoError(t, err)
	d := dbtest.New(t)
	store, err := importer.NewStore(importer.StoreOptions{DB: d.DB, Events: &connections.StoreEvents{DB: d.DB}})
	require.NoError(t, err)
	c := newClient(t, r)
	im, err := store.Create(ctx, importer.Input{Name: new("x"), URL: new("https://feeds.example/f.csv")}, nil)
	require.NoError(t, err)

	require.NoError(t, r.Close()) // Redis is gone
	_, err = c.StartImportRun(ctx, store, im.ID, "manual")
	require.Error(t, err)

	runs, _, err := store.Runs(ctx, im.ID, "", 10)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, importer.StatusFailed, runs[0].Status)
	require.Contains(t, runs[0].Message, "the run could not be queued")
	rows, err := d.DB.QueryContext(ctx, `SELECT type, data FROM system_events`)
	require.NoError(t, err)
	defer rows.Close()
	var got []string
	for rows.Next() {
		var typ, raw string
		require.NoError(t, rows.Scan(&typ, &raw))
		var data map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &data))
		got = append(got, typ)
		require.Equal(t, runs[0].ID, data["run_id"])
		require.Equal(t, "failed", data["status"])
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"import.failed"}, got)

	_, err = store.NewRun(ctx, im.ID, "manual")
	require.NoError(t, err, "the failed run does not block the next")
}

func TestScheduleChangesArePickedUpWithoutRestart(t *testing.T) {
	t.Parallel()
	r := openRedis(t)
	d := dbtest.New(t)
	store, err := importer.NewStore(importer.StoreOptions{DB: d.DB})
	require.NoError(t, err)
	sched, err := NewScheduler(SchedulerOptions{Redis: r, Log: testLogger(t), Sources: []PeriodicSource{ImportSchedules{Store: store}},
		SyncInterval: 100 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, sched.Start())
	t.Cleanup(sched.Shutdown)
	c := newClient(t, r)

	specs := func() []string {
		entries, err := c.ins.SchedulerEntries()
		require.NoError(t, err)
		var out []string
		for _, e := range entries {
			if e.Task.Type() == TypeImportSchedule {
				out = append(out, e.Spec)
			}
		}
		return out
	}
	waitSpecs := func(want ...string) {
		t.Helper()
		require.Eventually(t, func() bool {
			got := specs()
			return strings.Join(got, "|") == strings.Join(want, "|")
		}, 10*time.Second, 50*time.Millisecond, "want scheduler entries %v", want)
	}

	ctx := context.Background()
	im, err := store.Create(ctx, importer.Input{Name: new("nightly"), URL: new("https://feeds.example/f.csv"), Schedule: new("0 3 * * *"), Timezone: new("Europe/Moscow")}, nil)
	require.NoError(t, err)
	waitSpecs("CRON_TZ=Europe/Moscow 0 3 * * *")

	_, err = store.Update(ctx, im.ID, importer.Input{Schedule: new("@every 1h"), Timezone: new("")}, nil)
	require.NoError(t, err)
	waitSpecs("@every 1h")

	off := false
	_, err = store.Update(ctx, im.ID, importer.Input{Enabled: &off}, nil)
	require.NoError(t, err)
	waitSpecs()

	on := true
	_, err = store.Update(ctx, im.ID, importer.Input{Enabled: &on}, nil)
	require.NoError(t, err)
	waitSpecs("@every 1h")
	require.NoError(t, store.Delete(ctx, im.ID))
	waitSpecs()
}
