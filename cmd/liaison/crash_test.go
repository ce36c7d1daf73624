package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/redistest"
)

// asynqLeaseKey is where asynq v0.26 keeps the leases of the default
// queue's running tasks: a sorted set of task ids scored by the unix second
// their lease ends. Leases last 30 s and are extended every 5 s by the
// worker that holds them; asynq's own recoverer re-runs a task only once
// its lease ended 30 s ago, looking once a minute, and a worker's own
// (jobs/recover.go) 1 s after, looking every second.
const asynqLeaseKey = "asynq:{default}:lease"

// crashReceiver is the webhook endpoint of the crash test. It answers
// after a short while (a slow receiver keeps deliveries in flight), except
// that from the holdAfter-th request on, until release is closed, it holds
// every request unanswered: the worker is killed with those in flight.
type crashReceiver struct {
	secrets   map[string]string // request path → its webhook's signing secret
	holdAfter int
	release   chan struct{}

	mu   sync.Mutex
	got  []crashRequest
	errs []string
}

type crashRequest struct {
	webhookID, eventID string
	held               bool
	at                 time.Time
}

func (c *crashReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var payload struct {
		ID string `json:"id"`
	}
	if err == nil {
		err = json.Unmarshal(body, &payload)
	}
	if err == nil {
		c.mu.Lock()
		secret := c.secrets[r.URL.Path]
		c.mu.Unlock()
		err = hooks.Verify(secret, r.Header, body, time.Now(), 0)
	}
	held := false
	select {
	case <-c.release:
	default:
		held = true
	}
	c.mu.Lock()
	if err != nil {
		c.errs = append(c.errs, err.Error())
	}
	held = held && len(c.got) >= c.holdAfter
	c.got = append(c.got, crashRequest{webhookID: r.Header.Get("webhook-id"), eventID: payload.ID, held: held, at: time.Now()})
	c.mu.Unlock()
	if held {
		<-c.release
		return // the worker that sent it is dead; nobody reads this answer
	}
	time.Sleep(20 * time.Millisecond)
	w.WriteHeader(http.StatusNoContent)
}

func (c *crashReceiver) requests() []crashRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]crashRequest(nil), c.got...)
}

// TestKilledWorkerLosesNoDelivery kills a worker process with SIGKILL in
// the middle of a batch of webhook deliveries to four endpoints (a worker
// gives one target a quarter of its slots) and starts another: the
// deliveries in flight in the dead worker arrive again within 35 s of its
// death, every delivery arrives at least once, repeats carry the same
// webhook-id (the receiver's key for deduplication), and every delivery
// ends succeeded.
func TestKilledWorkerLosesNoDelivery(t *testing.T) {
	t.Parallel()
	const (
		events      = 200
		concurrency = 8
		holdAfter   = 60
		endpoints   = 4
	)
	database := dbtest.Empty(t)
	redisURL := redistest.New(t) // a miniredis on a TCP port without REDIS_URL, so processes share it
	env := map[string]string{
		"DATABASE_URL":         database.URL,
		"REDIS_URL":            redisURL,
		"SECRET_KEYS":          "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"ALLOWED_CIDRS":        "127.0.0.0/8", // the receiver is on loopback
		"DELIVERY_CONCURRENCY": fmt.Sprint(concurrency),
		"LOG_LEVEL":            "warn",
	}
	with := func(k, v string) map[string]string { return withVar(env, k, v) }

	// An access token, made the operator's way (this also migrates the
	// database before the processes start).
	token := cliToken(t, env, "crash")

	web, worker, sched, webAddr := startDeployment(t, env)

	api := apiCaller(t, webAddr, token)

	recv := &crashReceiver{holdAfter: holdAfter, release: make(chan struct{}), secrets: map[string]string{}}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	released := sync.OnceFunc(func() { close(recv.release) })
	t.Cleanup(released) // before srv.Close: Close waits for held requests
	var webhookIDs []string
	for i := range endpoints {
		path := fmt.Sprintf("/hook/%d", i)
		wh := api(http.MethodPost, "/v1/webhooks", map[string]any{"url": srv.URL + path, "event_types": []string{fmt.Sprintf("order.paid%c", 'a'+i)}}, http.StatusCreated)
		recv.mu.Lock()
		recv.secrets[path] = wh["secret"].(string)
		recv.mu.Unlock()
		webhookIDs = append(webhookIDs, wh["id"].(string))
	}

	batch := make([]map[string]any, events)
	for i := range batch {
		batch[i] = map[string]any{"id": fmt.Sprintf("evt_crash_%03d", i), "type": fmt.Sprintf("order.paid%c", 'a'+i%endpoints), "data": map[string]any{"n": i}}
	}
	res := api(http.MethodPost, "/v1/events/batch", map[string]any{"events": batch}, http.StatusAccepted)
	require.EqualValues(t, events, res["accepted"])
	deliveryOf := make(map[string]string, events) // event id → delivery id
	for _, r := range res["results"].([]any) {
		ds := r.(map[string]any)["deliveries"].([]any)
		require.Len(t, ds, 1)
		deliveryOf[r.(map[string]any)["id"].(string)] = ds[0].(string)
	}

	// Every worker slot ends up stuck on a held request: the worker is
	// killed with all of them in flight, and the rest of the batch queued.
	require.Eventually(t, func() bool { return len(recv.requests()) >= holdAfter+concurrency }, 30*time.Second, 5*time.Millisecond,
		"the worker never filled its %d slots", concurrency)
	require.NoError(t, worker.cmd.Process.Kill()) // SIGKILL: no shutdown, no hand-back of tasks
	killed := time.Now()
	<-worker.done
	released()
	before := recv.requests()
	var inFlight []string
	for _, r := range before {
		if r.held {
			inFlight = append(inFlight, r.webhookID)
		}
	}
	require.Less(t, len(before), events, "the worker was killed in the middle of the batch")
	require.NotEmpty(t, inFlight)
	t.Logf("killed the worker after %d requests, %d of them in flight", len(before), len(inFlight))

	// Their first attempts came in batches (jobs.TypeDeliveryBatch): asynq
	// still leases the batches the dead worker was running.
	var running []string
	for _, d := range inFlight {
		var batch string
		require.NoError(t, database.DB.QueryRowContext(context.Background(), `SELECT batch_id FROM deliveries WHERE id = $1`, d).Scan(&batch))
		require.NotEmpty(t, batch, "delivery %s came in a batch", d)
		running = append(running, batch)
	}
	rdb := redisClient(t, redisURL)
	leased, err := rdb.ZRange(context.Background(), asynqLeaseKey, 0, -1).Result()
	require.NoError(t, err)
	require.Subset(t, leased, running, "asynq still leases the batches the dead worker was sending from (%s)", asynqLeaseKey)
	worker2Addr := freeAddr(t)
	worker2 := start(t, with("HEALTH_ADDR", worker2Addr), "worker")
	waitReady(t, worker2, "http://"+worker2Addr+"/readyz", 15*time.Second)

	// asynq's own recoverer would take 55 s to two minutes; the second
	// worker's, 26 to 32 s.
	require.Eventually(t, func() bool {
		count := map[string]int{}
		for _, r := range recv.requests() {
			count[r.webhookID]++
		}
		for _, d := range inFlight {
			if count[d] < 2 {
				return false
			}
		}
		return len(count) >= events
	}, time.Until(killed.Add(35*time.Second)), 20*time.Millisecond, "not every delivery reached the receiver within 35 s of the worker's death")
	t.Logf("the dead worker's deliveries came again %s after its death", time.Since(killed).Round(100*time.Millisecond))

	// Every delivery arrived, under its own webhook-id, every time; the
	// ones in flight when the worker died arrived again.
	got := recv.requests()
	count := map[string]int{}
	for _, r := range got {
		require.Equal(t, deliveryOf[r.eventID], r.webhookID, "event %s came with the webhook-id of its delivery", r.eventID)
		count[r.webhookID]++
	}
	for ev, d := range deliveryOf {
		require.GreaterOrEqual(t, count[d], 1, "event %s (delivery %s) never arrived", ev, d)
	}
	for _, d := range inFlight {
		require.GreaterOrEqual(t, count[d], 2, "delivery %s, in flight when the worker died, was sent again", d)
	}
	again := map[string]time.Time{} // the first repeat of each delivery in flight
	for _, r := range got {
		if r.at.After(killed) && again[r.webhookID].IsZero() {
			again[r.webhookID] = r.at
		}
	}
	for _, d := range inFlight {
		require.WithinDuration(t, killed, again[d], 35*time.Second, "delivery %s, in flight when the worker died, came again within 35 s", d)
	}
	recv.mu.Lock()
	require.Empty(t, recv.errs, "every request was signed and well formed")
	recv.mu.Unlock()
	t.Logf("%d requests for %d deliveries: %d repeats", len(got), events, len(got)-events)

	// The API shows every delivery succeeded.
	require.Eventually(t, func() bool {
		n := 0
		for _, wh := range webhookIDs {
			cursor := ""
			for {
				page := api(http.MethodGet, "/v1/deliveries?status=succeeded&limit=200&webhook="+wh+"&cursor="+url.QueryEscape(cursor), nil, http.StatusOK)
				n += len(page["data"].([]any))
				next, _ := page["next_cursor"].(string)
				if next == "" {
					break
				}
				cursor = next
			}
		}
		return n == events
	}, 15*time.Second, 50*time.Millisecond, "not every delivery is succeeded")

	for name, p := range map[string]*proc{"web": web, "worker": worker2, "scheduler": sched} {
		require.Equal(t, 0, p.stop(t, 30*time.Second), "%s exit code", name)
	}
}

func redisClient(t *testing.T, rawURL string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(rawURL)
	require.NoError(t, err)
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}
