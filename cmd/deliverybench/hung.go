package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liaison/liaison/hooks"
)

// hung is the head-of-line phase: two webhook endpoints subscribed to the
// same events, A's receiver hanging (each request answered after a minute,
// past the 30 s request timeout) and B's answering at once, -hung-events
// events at -hung-rate a second, default settings. It reports B's latency
// (event accepted → B received) and A's circuit once -hung-for has passed
// since the first event; then A answers again, and it reports how long
// until every one of A's deliveries arrived.
func (b *bench) hung(ctx context.Context, o options) error {
	var (
		hanging atomic.Bool
		mu      sync.Mutex
		posted  = map[string]time.Time{}
		atB     = map[string]time.Time{}
		atA     = map[string]bool{}
	)
	hanging.Store(true)
	release := make(chan struct{})
	eventID := func(r *http.Request) string {
		var p struct {
			ID string `json:"id"`
		}
		raw, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(raw, &p)
		return p.ID
	}
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := eventID(r)
		if hanging.Load() {
			select {
			case <-r.Context().Done():
				return
			case <-release:
			case <-time.After(time.Minute):
			}
		}
		mu.Lock()
		atA[id] = true
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer a.Close()
	bs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := eventID(r)
		mu.Lock()
		if _, ok := atB[id]; !ok {
			atB[id] = time.Now()
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer bs.Close()
	var whA, whB hooks.WebhookWithSecret
	if err := b.api.Post(ctx, "/v1/webhooks", map[string]any{"url": a.URL, "event_types": []string{"hung.test"}, "description": "A, hanging"}, http.StatusCreated, &whA); err != nil {
		return err
	}
	if err := b.api.Post(ctx, "/v1/webhooks", map[string]any{"url": bs.URL, "event_types": []string{"hung.test"}, "description": "B, healthy"}, http.StatusCreated, &whB); err != nil {
		return err
	}

	prefix := "hung_" + randomHex(4) + "_"
	interval := time.Duration(float64(time.Second) / o.hungRate)
	start := time.Now()
	var sends sync.WaitGroup
	errs := make(chan error, o.hungEvents)
	for i := range o.hungEvents {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		id := fmt.Sprintf("%s%07d", prefix, i)
		sends.Go(func() {
			at := time.Now()
			if err := b.api.Post(ctx, "/v1/events", map[string]any{"id": id, "type": "hung.test", "profile": map[string]any{}, "data": map[string]any{"i": id}}, http.StatusAccepted, nil); err != nil {
				errs <- err
				return
			}
			mu.Lock()
			posted[id] = at
			mu.Unlock()
		})
	}
	sends.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if n, ok := waitFor(lenUnder(&mu, atB), o.hungEvents, 2*time.Minute, 10*time.Millisecond); !ok {
		return fmt.Errorf("hung: B received %d of %d events", n, o.hungEvents)
	}
	mu.Lock()
	lat := make([]time.Duration, 0, len(atB))
	for id, at := range atB {
		lat = append(lat, at.Sub(posted[id]))
	}
	gotA := len(atA)
	mu.Unlock()
	slices.Sort(lat)
	fmt.Printf("hung: %d events at %.0f/s to A (hanging) and B; B's latency p50 %s, p95 %s, p99 %s, max %s; A answered %d meanwhile\n",
		o.hungEvents, o.hungRate, ms(pct(lat, 50)), ms(pct(lat, 95)), ms(pct(lat, 99)), ms(lat[len(lat)-1]), gotA)
	time.Sleep(time.Until(start.Add(o.hungFor)))
	var circuit struct {
		Circuit hooks.Circuit `json:"circuit"`
	}
	if err := b.api.Get(ctx, "/v1/webhooks/"+whA.ID, &circuit); err != nil {
		return err
	}
	gotA = lenUnder(&mu, atA)()
	fmt.Printf("  after A hung for %s: its circuit %s, %d attempts in a row without an answer; A answered %d\n",
		o.hungFor, circuit.Circuit.State, circuit.Circuit.Failures, gotA)

	// A answers again: every one of its deliveries must arrive.
	hanging.Store(false)
	close(release)
	back := time.Now()
	if n, ok := waitFor(lenUnder(&mu, atA), o.hungEvents, 15*time.Minute, 50*time.Millisecond); !ok {
		return fmt.Errorf("hung: A received %d of %d events after it answered again", n, o.hungEvents)
	}
	fmt.Printf("  A answered again: all %d of its deliveries arrived %s later\n", o.hungEvents, time.Since(back).Round(time.Second))
	return nil
}

// waitFor polls count, once every every, until it reaches want, for at most
// within, and gives the count it reached and whether it got there.
func waitFor(count func() int, want int, within, every time.Duration) (int, bool) {
	deadline := time.Now().Add(within)
	for {
		n := count()
		if n >= want {
			return n, true
		}
		if time.Now().After(deadline) {
			return n, false
		}
		time.Sleep(every)
	}
}

// lenUnder counts the entries of m, read under mu.
func lenUnder[V any](mu *sync.Mutex, m map[string]V) func() int {
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(m)
	}
}
