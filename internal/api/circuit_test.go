package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/jobs"
)

// A webhook endpoint that hangs must cost the others nothing: it holds no
// more than its share of the worker's slots, its circuit opens after a few
// timeouts, its deliveries wait without using up attempts, and they all
// arrive once it answers again.
func TestHungEndpointCostsTheOthersNothing(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	b := setupDeliveriesOn(t, jobs.WorkerConfig{Concurrency: 20, DeliveryConcurrency: 8, ShutdownTimeout: time.Second}, func(o *hooks.Options) {
		o.RequestTimeout = timeout
		o.TargetConcurrency = 2 // a quarter of the 8 slots, as the default is of 200
		o.CircuitFailures = 3
		o.CircuitCooldown = 300 * time.Millisecond
		o.CircuitCooldownMax = 600 * time.Millisecond
	})

	var hanging atomic.Bool
	hanging.Store(true)
	release := make(chan struct{})
	hung := newReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) {
		if hanging.Load() {
			select {
			case <-r.Context().Done():
				return
			case <-release:
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
	var (
		mu      sync.Mutex
		arrived = map[string]time.Time{}
	)
	healthy := newReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) {
		mu.Lock()
		arrived[r.Header.Get("webhook-id")] = time.Now()
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	watcher := newReceiver(t, nil)

	a := b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": hung.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": healthy.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": watcher.URL, "event_types": []string{"webhook.circuit_opened", "webhook.circuit_closed"}}, http.StatusCreated)
	aID := a["id"].(string)

	// 40 events at about 50 a second, each delivered to both endpoints.
	const events = 40
	posted := map[string]time.Time{} // delivery id → when its event was accepted
	var hungDeliveries []string
	for i := range events {
		at := time.Now()
		out := b.call(t, http.MethodPost, "/v1/events", map[string]any{"id": fmt.Sprintf("ev-%d", i), "type": "email.opened", "profile": map[string]any{}, "data": map[string]any{}}, http.StatusAccepted)
		for _, d := range out["deliveries"].([]any) {
			posted[d.(string)] = at
		}
		time.Sleep(20 * time.Millisecond)
	}
	for id := range posted {
		d := b.call(t, http.MethodGet, "/v1/deliveries/"+id, nil, http.StatusOK)
		if d["webhook_id"] == aID {
			hungDeliveries = append(hungDeliveries, id)
		}
	}
	require.Len(t, hungDeliveries, events)

	// The healthy endpoint got every event without waiting for the hung
	// one's timeouts: with all 8 slots held by it, its deliveries would
	// have waited a second at a time.
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(arrived) == events }, 10*time.Second, 10*time.Millisecond)
	mu.Lock()
	var slowest time.Duration
	for id, at := range arrived {
		slowest = max(slowest, at.Sub(posted[id]))
	}
	mu.Unlock()
	require.Less(t, slowest, timeout/2, "the healthy endpoint waited for the hung one")

	// The hung endpoint's circuit opened, and says so.
	require.Eventually(t, func() bool {
		c := b.call(t, http.MethodGet, "/v1/webhooks/"+aID, nil, http.StatusOK)["circuit"].(map[string]any)
		return c["state"] != hooks.CircuitClosed
	}, 10*time.Second, 20*time.Millisecond)
	c := b.call(t, http.MethodGet, "/v1/webhooks/"+aID, nil, http.StatusOK)["circuit"].(map[string]any)
	require.GreaterOrEqual(t, c["failures"], float64(3))
	require.Contains(t, c["last_error"], "no answer within")
	opened := watcher.waitFor(t, 1)[0]
	var payload struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(opened.Body, &payload))
	require.Equal(t, "webhook.circuit_opened", payload.Type)
	require.Equal(t, aID, payload.Data["webhook_id"])

	// While it hangs, it never had more than its share under way, and its
	// deliveries wait: none failed, and most made no attempt at all.
	time.Sleep(2 * timeout)
	require.LessOrEqual(t, len(hung.requests()), events/2, "an open circuit sends nothing but probes")
	for _, id := range hungDeliveries {
		d := b.call(t, http.MethodGet, "/v1/deliveries/"+id, nil, http.StatusOK)
		require.NotEqual(t, "failed", d["status"], "delivery %s: %v", id, d)
	}

	// It answers again: every delivery arrives, the circuit closes.
	hanging.Store(false)
	close(release)
	for _, id := range hungDeliveries {
		b.waitDelivery(t, id, "succeeded")
	}
	c = b.call(t, http.MethodGet, "/v1/webhooks/"+aID, nil, http.StatusOK)["circuit"].(map[string]any)
	require.Equal(t, hooks.CircuitClosed, c["state"])
	closed := watcher.waitFor(t, 2)[1]
	require.NoError(t, json.Unmarshal(closed.Body, &payload))
	require.Equal(t, "webhook.circuit_closed", payload.Type)
}
