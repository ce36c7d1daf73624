package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/importer/feedgen"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/secret"
	"github.com/liaison/liaison/jobs"
)

// startImportWorker runs a worker with the import handlers on the bundle's
// Redis and database; plain public feed URLs go through the SSRF guard with
// loopback opened.
func startImportWorker(t *testing.T, b *apptest.Bundle) {
	t.Helper()
	key, err := secret.NewKey()
	require.NoError(t, err)
	ring, err := secret.NewRing([][]byte{key})
	require.NoError(t, err)
	svc, err := connections.New(connections.Options{DB: b.DB.DB, Redis: b.Redis.UniversalClient, Ring: ring,
		RedirectURI: "http://liaison.test/oauth/callback", AllowedCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner, err := importer.NewRunner(importer.RunnerOptions{Store: b.Imports, Sender: svc, Log: log})
	require.NoError(t, err)
	w, err := jobs.NewWorker(jobs.WorkerOptions{Redis: b.Redis, Deps: jobs.Deps{Client: b.Jobs, Imports: b.Imports, ImportRunner: runner},
		Log: log, Concurrency: 2, ShutdownTimeout: time.Second})
	require.NoError(t, err)
	require.NoError(t, w.Start())
	t.Cleanup(w.Shutdown)
}

func TestImportThroughTheAPI(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	startImportWorker(t, b)
	writer := b.Token(t, access.ScopeImportsWrite, access.ScopeImportsRead)
	reader := b.Token(t, access.ScopeImportsRead)

	var feed bytes.Buffer
	require.NoError(t, feedgen.Write(&feed, feedgen.Options{Format: "rss", Items: 50, Seed: 1}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(feed.Bytes()) }))
	t.Cleanup(srv.Close)

	resp, im := b.Do(t, http.MethodPost, "/v1/imports", writer, map[string]any{
		"name": "Merchant feed", "url": srv.URL + "/feed.xml", "format": "auto", "schedule": "0 3 * * *", "timezone": "Europe/Moscow",
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", im)
	id := im["id"].(string)
	require.Equal(t, true, im["enabled"])
	require.Equal(t, "1h0m0s", im["time_limit"])

	resp, p := b.Do(t, http.MethodPost, "/v1/imports", reader, map[string]any{"name": "x", "url": srv.URL})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "%v", p)

	resp, run := b.Do(t, http.MethodPost, "/v1/imports/"+id+"/run", writer, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%v", run)
	runID := run["id"].(string)
	require.Equal(t, "/v1/runs/"+runID, resp.Header.Get("Location"))

	require.Eventually(t, func() bool {
		_, run = b.Do(t, http.MethodGet, "/v1/runs/"+runID, reader, nil)
		return run["status"] == "succeeded"
	}, 20*time.Second, 20*time.Millisecond, "%v", run)
	require.EqualValues(t, 50, run["counts"].(map[string]any)["created"])
	require.EqualValues(t, 50, run["items"])
	require.EqualValues(t, feed.Len(), run["bytes"])

	resp, runs := b.Do(t, http.MethodGet, "/v1/imports/"+id+"/runs", reader, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, runs["data"], 1)

	resp, items := b.Do(t, http.MethodGet, "/v1/imports/"+id+"/items?limit=20", reader, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, items["data"], 20)
	require.NotEmpty(t, items["next_cursor"])
	first := items["data"].([]any)[0].(map[string]any)
	require.Equal(t, "active", first["status"])
	require.Contains(t, first["fields"], "price")

	resp, edited := b.Do(t, http.MethodPatch, "/v1/imports/"+id, writer, map[string]any{"enabled": false})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, false, edited["enabled"])

	resp, _ = b.Do(t, http.MethodDelete, "/v1/imports/"+id, writer, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, _ = b.Do(t, http.MethodGet, "/v1/runs/"+runID, reader, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestImportRunConflictsAndCancel(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t) // no worker: runs stay queued
	writer := b.Token(t, access.ScopeImportsWrite, access.ScopeImportsRead)
	_, im := b.Do(t, http.MethodPost, "/v1/imports", writer, map[string]any{"name": "x", "url": "https://feeds.example/f.csv"})
	id := im["id"].(string)

	resp, run := b.Do(t, http.MethodPost, "/v1/imports/"+id+"/run", writer, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	resp, p := b.Do(t, http.MethodPost, "/v1/imports/"+id+"/run", writer, nil)
	require.Equal(t, http.StatusConflict, resp.StatusCode, "runs of one import never overlap")
	require.Contains(t, p["detail"], "already queued or running")

	resp, cancelled := b.Do(t, http.MethodPost, "/v1/runs/"+run["id"].(string)+"/cancel", writer, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "cancelled", cancelled["status"])
	resp, _ = b.Do(t, http.MethodPost, "/v1/runs/"+run["id"].(string)+"/cancel", writer, nil)
	require.Equal(t, http.StatusConflict, resp.StatusCode)

	// The run ended before it started: import.failed says so, once.
	var types []string
	rows, err := b.DB.DB.QueryContext(context.Background(), `SELECT type, data FROM system_events`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var typ, raw string
		require.NoError(t, rows.Scan(&typ, &raw))
		var data map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &data))
		if data["run_id"] == run["id"] {
			require.Equal(t, "cancelled", data["status"])
			types = append(types, typ)
		}
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"import.failed"}, types)
}

func TestBadImportInputGetsFieldErrors(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	writer := b.Token(t, access.ScopeImportsWrite)
	for field, body := range map[string]map[string]any{
		"schedule":  {"name": "x", "url": "https://f.example/a", "schedule": "nightly"},
		"format":    {"name": "x", "url": "https://f.example/a", "format": "xls"},
		"item_path": {"name": "x", "url": "https://f.example/a", "format": "xml"},
		"url":       {"name": "x", "url": "/relative/without/connection"},
	} {
		resp, p := b.Do(t, http.MethodPost, "/v1/imports", writer, body)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, field)
		var fields []string
		for _, e := range p["errors"].([]any) {
			fields = append(fields, e.(map[string]any)["field"].(string))
		}
		require.Contains(t, fields, field)
	}
	resp, _ := b.Do(t, http.MethodGet, "/v1/imports", b.Token(t, access.ScopeImportsRead), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// A run's end reaches webhooks subscribed to import.completed and
// import.failed, signed like any event: a run that succeeds, and one that a
// person cancels while it runs (it did not complete, so import.failed with
// status "cancelled"). Each run tells of its end once.
func TestImportRunEndsReachSubscribedWebhooks(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	rc := apptest.NewReceiver(t, nil)
	wh := b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL + "/imports", "event_types": []string{"import.completed", "import.failed"}}, http.StatusCreated)
	secret := wh["secret"].(string)
	writer := b.Token(t, access.ScopeImportsWrite, access.ScopeImportsRead)

	var feed bytes.Buffer
	require.NoError(t, feedgen.Write(&feed, feedgen.Options{Format: "csv", Items: 30, Seed: 5}))
	feedSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(feed.Bytes()) }))
	t.Cleanup(feedSrv.Close)
	resp, im := b.Do(t, http.MethodPost, "/v1/imports", writer, map[string]any{"name": "Shop feed", "url": feedSrv.URL + "/feed.csv", "format": "csv"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", im)
	resp, run := b.Do(t, http.MethodPost, "/v1/imports/"+im["id"].(string)+"/run", writer, nil)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%v", run)
	runID := run["id"].(string)

	got := rc.WaitFor(t, 1)[0]
	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, "/imports", got.Path)
	require.NoError(t, hooks.Verify(secret, got.Header, got.Body, time.Now(), 0))
	require.True(t, apptest.VerifyByHand(t, secret, got.Header, got.Body))
	completed := webhookEvent(t, secret, got)
	require.Equal(t, "import.completed", completed.Type)
	require.Equal(t, runID, completed.Data["run_id"])
	require.Equal(t, im["id"], completed.Data["import_id"])
	require.Equal(t, "Shop feed", completed.Data["import_name"])
	require.Equal(t, "succeeded", completed.Data["status"])
	require.EqualValues(t, 30, completed.Data["items"])
	require.EqualValues(t, feed.Len(), completed.Data["bytes"])
	require.Equal(t, map[string]any{"created": 30.0, "updated": 0.0, "unchanged": 0.0, "removed": 0.0, "bad": 0.0}, completed.Data["counts"])

	// A feed that never ends, cancelled while it runs.
	endless := httptest.NewServer(http.HandlerFunc(feedgen.EndlessCSV))
	t.Cleanup(endless.Close)
	resp, im2 := b.Do(t, http.MethodPost, "/v1/imports", writer, map[string]any{"name": "Endless", "url": endless.URL, "format": "csv"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", im2)
	_, run2 := b.Do(t, http.MethodPost, "/v1/imports/"+im2["id"].(string)+"/run", writer, nil)
	run2ID := run2["id"].(string)
	require.Eventually(t, func() bool {
		_, r := b.Do(t, http.MethodGet, "/v1/runs/"+run2ID, writer, nil)
		return r["status"] == "running"
	}, 20*time.Second, 10*time.Millisecond)
	resp, cancelled := b.Do(t, http.MethodPost, "/v1/runs/"+run2ID+"/cancel", writer, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", cancelled)

	failed := webhookEvent(t, secret, rc.WaitFor(t, 2)[1])
	require.Equal(t, "import.failed", failed.Type)
	require.Equal(t, run2ID, failed.Data["run_id"])
	require.Equal(t, "cancelled", failed.Data["status"])
	require.Equal(t, "Endless", failed.Data["import_name"])

	// The event is recorded before the run shows as ended: once both runs
	// have, the webhook's deliveries are all there is, one per run.
	var status string
	require.Eventually(t, func() bool {
		_, r := b.Do(t, http.MethodGet, "/v1/runs/"+run2ID, writer, nil)
		status, _ = r["status"].(string)
		return status != "running"
	}, 20*time.Second, 10*time.Millisecond)
	require.Equal(t, "cancelled", status)
	list := b.Call(t, http.MethodGet, "/v1/deliveries?webhook="+wh["id"].(string), nil, http.StatusOK)
	require.Len(t, list["data"], 2, "%v", list)
}

// sentEvent is the body of an event webhook.
type sentEvent struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

// webhookEvent checks a webhook request with the reference verifier and
// decodes its event.
func webhookEvent(t *testing.T, secret string, got apptest.Received) sentEvent {
	t.Helper()
	require.NoError(t, apptest.VerifyByReference(t, secret, got.Header, got.Body))
	var ev sentEvent
	require.NoError(t, json.Unmarshal(got.Body, &ev))
	return ev
}
