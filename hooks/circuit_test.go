package hooks_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/jobs"
)

// A webhook endpoint that hangs must cost the others nothing: it holds no
// more than its share of the worker's slots, its circuit opens after a few
// timeouts, its deliveries wait without using up attempts, and they all
// arrive once it answers again.
func TestHungEndpointCostsTheOthersNothing(t *testing.T) {
	t.Parallel()
	// Without the share, the healthy target's requests wait for the hung
	// one's timeouts; the margin below is wide for a loaded machine.
	const timeout = 2 * time.Second
	b := apptest.SetupDeliveriesWith(t, jobs.WorkerOptions{Concurrency: 20, DeliveryConcurrency: 8, ShutdownTimeout: time.Second}, func(o *hooks.Options) {
		o.RequestTimeout = timeout
		o.TargetConcurrency = 2 // a quarter of the 8 slots, as the default is of 200
		o.CircuitFailures = 3
		o.CircuitCooldown = 300 * time.Millisecond
		o.CircuitCooldownMax = 600 * time.Millisecond
	}, nil)

	var hanging atomic.Bool
	hanging.Store(true)
	release := make(chan struct{})
	hung := apptest.NewReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) {
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
	healthy := apptest.NewReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) {
		mu.Lock()
		arrived[r.Header.Get("webhook-id")] = time.Now()
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	watcher := apptest.NewReceiver(t, nil)

	a := b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": hung.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": healthy.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": watcher.URL, "event_types": []string{"webhook.circuit_opened", "webhook.circuit_closed"}}, http.StatusCreated)
	aID := a["id"].(string)

	// 40 events at about 50 a second, each delivered to both endpoints.
	const events = 40
	posted := map[string]time.Time{} // delivery id → when its event was accepted
	var hungDeliveries []string
	for i := range events {
		at := time.Now()
		out := b.Call(t, http.MethodPost, "/v1/events", map[string]any{"id": fmt.Sprintf("ev-%d", i), "type": "email.opened", "profile": map[string]any{}, "data": map[string]any{}}, http.StatusAccepted)
		for _, d := range out["deliveries"].([]any) {
			posted[d.(string)] = at
		}
		time.Sleep(20 * time.Millisecond)
	}
	for id := range posted {
		d := b.Call(t, http.MethodGet, "/v1/deliveries/"+id, nil, http.StatusOK)
		if d["webhook_id"] == aID {
			hungDeliveries = append(hungDeliveries, id)
		}
	}
	require.Len(t, hungDeliveries, events)

	// The healthy endpoint got every event without waiting for the hung
	// one's timeouts: with all 8 slots held by it, its deliveries would
	// have waited for its timeouts.
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(arrived) == events }, 10*time.Second, 10*time.Millisecond)
	mu.Lock()
	var slowest time.Duration
	for id, at := range arrived {
		slowest = max(slowest, at.Sub(posted[id]))
	}
	mu.Unlock()
	require.Less(t, slowest, timeout*3/4, "the healthy endpoint waited for the hung one")

	// The hung endpoint's circuit opened, and says so.
	require.Eventually(t, func() bool {
		c := b.Call(t, http.MethodGet, "/v1/webhooks/"+aID, nil, http.StatusOK)["circuit"].(map[string]any)
		return c["state"] != hooks.CircuitClosed
	}, 10*time.Second, 20*time.Millisecond)
	c := b.Call(t, http.MethodGet, "/v1/webhooks/"+aID, nil, http.StatusOK)["circuit"].(map[string]any)
	require.GreaterOrEqual(t, c["failures"], float64(3))
	require.Contains(t, c["last_error"], "no answer within")
	opened := watcher.WaitFor(t, 1)[0]
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
	require.LessOrEqual(t, len(hung.Requests()), events/2, "an open circuit sends nothing but probes")
	for _, id := range hungDeliveries {
		d := b.Call(t, http.MethodGet, "/v1/deliveries/"+id, nil, http.StatusOK)
		require.NotEqual(t, "failed", d["status"], "delivery %s: %v", id, d)
	}

	// It answers again: every delivery arrives, the circuit closes.
	hanging.Store(false)
	close(release)
	for _, id := range hungDeliveries {
		b.WaitDelivery(t, id, "succeeded")
	}
	c = b.Call(t, http.MethodGet, "/v1/webhooks/"+aID, nil, http.StatusOK)["circuit"].(map[string]any)
	require.Equal(t, hooks.CircuitClosed, c["state"])
	closed := watcher.WaitFor(t, 2)[1]
	require.NoError(t, json.Unmarshal(closed.Body, &payload))
	require.Equal(t, "webhook.circuit_closed", payload.Type)
}

// A connection whose service hangs must cost the other connections
// nothing, for its action hooks and its API calls alike: they share one
// circuit (the connection's, which its answers and its hooks' show), hold
// no more than their share of the worker's slots, wait without failing
// while the circuit is open, and all arrive once the service answers.
func TestHungConnectionCostsTheOthersNothing(t *testing.T) {
	t.Parallel()
	// Without the share, the healthy target's requests wait for the hung
	// one's timeouts; the margin below is wide for a loaded machine.
	const timeout = 2 * time.Second
	b := apptest.SetupCallsWith(t, jobs.WorkerOptions{Concurrency: 8, DeliveryConcurrency: 8, ShutdownTimeout: time.Second}, func(o *hooks.Options) {
		o.RequestTimeout = timeout
		o.TargetConcurrency = 2
		o.CircuitFailures = 3
		o.CircuitCooldown = 300 * time.Millisecond
		o.CircuitCooldownMax = 600 * time.Millisecond
	}, func(o *calls.Options) { o.TargetConcurrency = 2 })
	writer := b.Token(t, access.ScopeHooksWrite, access.ScopeHooksRead, access.ScopeEventsWrite)
	as := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		resp, out := b.Do(t, method, path, writer, body)
		require.Equal(t, want, resp.StatusCode, "%s %s answered %v", method, path, out)
		return out
	}

	var hanging atomic.Bool
	hanging.Store(true)
	release := make(chan struct{})
	hungCRM := apptest.NewReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) {
		if hanging.Load() {
			select {
			case <-r.Context().Done():
				return
			case <-release:
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	var (
		mu      sync.Mutex
		arrived []time.Time // when each request reached the healthy CRM
	)
	healthyCRM := apptest.NewReceiver(t, func(_ int, _ *http.Request, w http.ResponseWriter) {
		mu.Lock()
		arrived = append(arrived, time.Now())
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	watcher := apptest.NewReceiver(t, nil)
	as(http.MethodPost, "/v1/webhooks", map[string]any{"url": watcher.URL, "event_types": []string{"connection.circuit_opened", "connection.circuit_closed"}}, http.StatusCreated)

	hung := b.BearerConnection(t, hungCRM.URL, nil)
	healthy := b.BearerConnection(t, healthyCRM.URL, nil)
	hungHook := as(http.MethodPost, "/v1/hooks", map[string]any{"name": "contacts", "event_types": []string{"form.sent"}, "connection_id": hung, "url": "/contacts"}, http.StatusCreated)["id"].(string)
	as(http.MethodPost, "/v1/hooks", map[string]any{"name": "contacts", "event_types": []string{"form.sent"}, "connection_id": healthy, "url": "/contacts"}, http.StatusCreated)

	// 20 events at about 50 a second, each sent through both connections,
	// and an API call through each beside every other event.
	const events = 20
	var sent []time.Time // when each request for the healthy CRM was made
	var hungDeliveries, hungCalls []string
	for i := range events {
		sent = append(sent, time.Now())
		out := as(http.MethodPost, "/v1/events", map[string]any{"id": fmt.Sprintf("form-%d", i), "type": "form.sent"}, http.StatusAccepted)
		for _, d := range out["deliveries"].([]any) {
			if as(http.MethodGet, "/v1/deliveries/"+d.(string), nil, http.StatusOK)["hook_id"] == hungHook {
				hungDeliveries = append(hungDeliveries, d.(string))
			}
		}
		if i%2 == 0 {
			c := b.Req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": hung, "method": "GET", "path": "/lookup"}, http.StatusAccepted)
			hungCalls = append(hungCalls, c["id"].(string))
			sent = append(sent, time.Now())
			b.Req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": healthy, "method": "GET", "path": "/lookup"}, http.StatusAccepted)
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.Len(t, hungDeliveries, events)

	// The healthy CRM got every hook and every call without waiting for
	// the hung one's timeouts: with all 8 slots of either kind held by the
	// hung connection, they would have waited for its timeouts.
	want := events + events/2
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(arrived) == want }, 10*time.Second, 10*time.Millisecond)
	mu.Lock()
	slices.SortFunc(arrived, func(a, b time.Time) int { return a.Compare(b) })
	var slowest time.Duration
	for i := range sent {
		// The i-th request made reached the CRM by the i-th arrival.
		slowest = max(slowest, arrived[i].Sub(sent[i]))
	}
	mu.Unlock()
	require.Less(t, slowest, timeout*3/4, "the healthy connection waited for the hung one")

	// The hung connection's circuit opened: the connection and its hook
	// say so, and so does an event.
	require.Eventually(t, func() bool {
		c := b.Req(t, http.MethodGet, "/v1/connections/"+hung, nil, http.StatusOK)["circuit"].(map[string]any)
		return c["state"] != hooks.CircuitClosed
	}, 10*time.Second, 20*time.Millisecond)
	c := b.Req(t, http.MethodGet, "/v1/connections/"+hung, nil, http.StatusOK)["circuit"].(map[string]any)
	require.GreaterOrEqual(t, c["failures"], float64(3))
	require.Contains(t, c["last_error"], "no answer within")
	require.Equal(t, c["opened_at"], as(http.MethodGet, "/v1/hooks/"+hungHook, nil, http.StatusOK)["circuit"].(map[string]any)["opened_at"],
		"the hook shows its connection's circuit")
	listed := b.Req(t, http.MethodGet, "/v1/connections", nil, http.StatusOK)["data"].([]any)
	for _, l := range listed {
		l := l.(map[string]any)
		state := l["circuit"].(map[string]any)["state"]
		if l["id"] == hung {
			require.NotEqual(t, hooks.CircuitClosed, state)
		} else {
			require.Equal(t, hooks.CircuitClosed, state)
		}
	}
	var payload struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(watcher.WaitFor(t, 1)[0].Body, &payload))
	require.Equal(t, "connection.circuit_opened", payload.Type)
	require.Equal(t, hung, payload.Data["connection_id"])

	// While it hangs, hooks and calls wait: none failed, and the open
	// circuit sent only probes.
	time.Sleep(2 * timeout)
	require.LessOrEqual(t, len(hungCRM.Requests()), (events+len(hungCalls))/2, "an open circuit sends nothing but probes")
	for _, id := range hungDeliveries {
		d := as(http.MethodGet, "/v1/deliveries/"+id, nil, http.StatusOK)
		require.NotEqual(t, "failed", d["status"], "delivery %s: %v", id, d)
	}
	for _, id := range hungCalls {
		call := b.Req(t, http.MethodGet, "/v1/calls/"+id, nil, http.StatusOK)
		require.NotEqual(t, "failed", call["state"], "call %s: %v", id, call)
	}

	// It answers again: every hook and call arrives, the circuit closes.
	hanging.Store(false)
	close(release)
	for _, id := range hungDeliveries {
		waitFor(t, func() (string, any) {
			d := as(http.MethodGet, "/v1/deliveries/"+id, nil, http.StatusOK)
			return d["status"].(string), d
		}, "succeeded")
	}
	for _, id := range hungCalls {
		b.WaitCall(t, id, "succeeded")
	}
	c = b.Req(t, http.MethodGet, "/v1/connections/"+hung, nil, http.StatusOK)["circuit"].(map[string]any)
	require.Equal(t, hooks.CircuitClosed, c["state"])
	require.NoError(t, json.Unmarshal(watcher.WaitFor(t, 2)[1].Body, &payload))
	require.Equal(t, "connection.circuit_closed", payload.Type)
}

// waitFor polls until get says the state.
func waitFor(t *testing.T, get func() (state string, v any), state string) {
	t.Helper()
	var last any
	require.Eventually(t, func() bool {
		var got string
		got, last = get()
		return got == state
	}, 15*time.Second, 10*time.Millisecond, "never %s: %v", state, last)
}
