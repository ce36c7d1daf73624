package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/redistest"
)

// importEvent is what a webhook receiver got: the event and whether its
// Standard Webhooks signature held.
type importEvent struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
	err  error
}

// TestImportEndsReachWebhooksFromEveryProcess runs the web and worker
// processes as an operator would and checks that both tell of a run's end
// through the delivery engine: the worker when it takes a run to its end,
// the web process when a person cancels a run that is still queued.
func TestImportEndsReachWebhooksFromEveryProcess(t *testing.T) {
	t.Parallel()
	database := dbtest.Empty(t)
	env := map[string]string{
		"DATABASE_URL":  database.URL,
		"REDIS_URL":     redistest.New(t), // a miniredis on a TCP port without REDIS_URL, so processes share it
		"SECRET_KEYS":   "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"ALLOWED_CIDRS": "127.0.0.0/8", // the feed and the receiver are on loopback
		"LOG_LEVEL":     "warn",
	}
	with := func(k, v string) map[string]string { return withVar(env, k, v) }
	token := cliToken(t, env, "imports")

	webAddr, workerAddr := freeAddr(t), freeAddr(t)
	web := start(t, with("LISTEN_ADDR", webAddr), "serve")
	worker := start(t, with("HEALTH_ADDR", workerAddr), "worker")
	waitReady(t, web, "http://"+webAddr+"/readyz", 15*time.Second)
	waitReady(t, worker, "http://"+workerAddr+"/readyz", 15*time.Second)

	api := apiCaller(t, webAddr, token)

	var (
		mu     sync.Mutex
		got    []importEvent
		secret string
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var ev importEvent
		if err == nil {
			err = json.Unmarshal(body, &ev)
		}
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			err = hooks.Verify(secret, r.Header, body, time.Now(), 0)
		}
		ev.err = err
		got = append(got, ev)
	}))
	t.Cleanup(receiver.Close)
	received := func(n int) []importEvent {
		t.Helper()
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) >= n
		}, 30*time.Second, 10*time.Millisecond, "the receiver never got %d events", n)
		mu.Lock()
		defer mu.Unlock()
		return append([]importEvent(nil), got...)
	}
	wh := api(http.MethodPost, "/v1/webhooks", map[string]any{"url": receiver.URL, "event_types": []string{"import.completed", "import.failed"}}, http.StatusCreated)
	mu.Lock()
	secret = wh["secret"].(string)
	mu.Unlock()

	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "id,name\n1,one\n2,two\n3,three\n")
	}))
	t.Cleanup(feed.Close)
	im := api(http.MethodPost, "/v1/imports", map[string]any{"name": "Tiny", "url": feed.URL, "format": "csv"}, http.StatusCreated)
	run := api(http.MethodPost, "/v1/imports/"+im["id"].(string)+"/run", nil, http.StatusAccepted)

	ev := received(1)[0]
	require.NoError(t, ev.err)
	require.Equal(t, "import.completed", ev.Type)
	require.Equal(t, run["id"], ev.Data["run_id"])
	require.Equal(t, "succeeded", ev.Data["status"])
	require.EqualValues(t, 3, ev.Data["counts"].(map[string]any)["created"])

	// No worker: the next run stays queued, and the web process ends it
	// when a person cancels it. The event waits in the queue for a worker.
	require.Equal(t, 0, worker.stop(t, 30*time.Second))
	queued := api(http.MethodPost, "/v1/imports/"+im["id"].(string)+"/run", nil, http.StatusAccepted)
	cancelled := api(http.MethodPost, "/v1/runs/"+queued["id"].(string)+"/cancel", nil, http.StatusOK)
	require.Equal(t, "cancelled", cancelled["status"])
	worker = start(t, with("HEALTH_ADDR", workerAddr), "worker")
	waitReady(t, worker, "http://"+workerAddr+"/readyz", 15*time.Second)

	evs := received(2)
	ev = evs[1]
	require.NoError(t, ev.err)
	require.Equal(t, "import.failed", ev.Type)
	require.Equal(t, queued["id"], ev.Data["run_id"])
	require.Equal(t, "cancelled", ev.Data["status"])
	require.Equal(t, "cancelled before it started", ev.Data["message"])
	require.Equal(t, "Tiny", ev.Data["import_name"])

	// One delivery per run.
	list := api(http.MethodGet, "/v1/deliveries?webhook="+wh["id"].(string), nil, http.StatusOK)
	require.Len(t, list["data"], 2, fmt.Sprint(list))
	require.Equal(t, 0, worker.stop(t, 30*time.Second))
	require.Equal(t, 0, web.stop(t, 30*time.Second))
}
