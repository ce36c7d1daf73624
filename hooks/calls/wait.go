package calls

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Waiting for calls. The worker that ends a call publishes its id on one
// Redis channel; each web process holds one subscription to it, opened on
// the first wait, and hands the word to the requests waiting in it. So a
// thousand waiting requests cost one Redis connection, not a thousand, and
// no request polls the database. Redis pub/sub is not durable: a word
// published while the subscription reconnects is lost, and the request
// waiting for it answers when its wait is over, with the call as it is
// then (which may have ended).

// callsEndedChannel carries the ids of calls that ended. Pub/sub channels
// are not scoped by Redis database number; call ids are unique, so other
// databases' words are only noise.
const callsEndedChannel = "liaison:calls:ended"

// announceCallEnded tells waiting requests, in every process, that the
// call ended. A lost word costs a waiter its whole wait, never a result.
func (s *Service) announceCallEnded(ctx context.Context, id string) {
	if err := s.opts.Redis.Publish(ctx, callsEndedChannel, id).Err(); err != nil {
		s.opts.Log.WarnContext(ctx, "announcing that a call ended", "call_id", id, "error", err)
	}
}

// callWaiters is a process's subscription and the requests waiting on it.
type callWaiters struct {
	mu      sync.Mutex
	waiting map[string]map[chan struct{}]struct{}
	sub     *subscription // nil until the first wait, and after it closes
	closed  bool
}

// subscription is one attempt at subscribing: ready closes when it is
// known whether it worked (err).
type subscription struct {
	ready chan struct{}
	err   error
	ps    *redis.PubSub
}

// subscribeTimeout bounds the wait for Redis to confirm a subscription.
const subscribeTimeout = 5 * time.Second

// wait registers a waiter for the call and makes sure the subscription is
// on before it returns, so that a word published from now on reaches it.
// ended is nil when Redis cannot be subscribed to; stop unregisters.
func (w *callWaiters) wait(ctx context.Context, rdb redis.UniversalClient, id string, log *slog.Logger) (ended <-chan struct{}, stop func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.waiting == nil {
		w.waiting = map[string]map[chan struct{}]struct{}{}
	}
	if w.waiting[id] == nil {
		w.waiting[id] = map[chan struct{}]struct{}{}
	}
	w.waiting[id][ch] = struct{}{}
	sub := w.sub
	if sub == nil && !w.closed {
		sub = &subscription{ready: make(chan struct{})}
		w.sub = sub
		go w.run(rdb, sub, log)
	}
	w.mu.Unlock()
	stop = func() {
		w.mu.Lock()
		delete(w.waiting[id], ch)
		if len(w.waiting[id]) == 0 {
			delete(w.waiting, id)
		}
		w.mu.Unlock()
	}
	if sub == nil {
		return nil, stop
	}
	select {
	case <-sub.ready:
	case <-ctx.Done():
		return nil, stop
	}
	if sub.err != nil {
		return nil, stop
	}
	return ch, stop
}

// run subscribes and hands out words until the subscription closes (Close,
// or the Redis client closing).
func (w *callWaiters) run(rdb redis.UniversalClient, sub *subscription, log *slog.Logger) {
	ps := rdb.Subscribe(context.Background(), callsEndedChannel)
	ctx, cancel := context.WithTimeout(context.Background(), subscribeTimeout)
	_, err := ps.Receive(ctx) // the confirmation: from here on, words arrive
	cancel()
	w.mu.Lock()
	if err != nil || w.closed {
		sub.err = err
		if err == nil {
			sub.err = redis.ErrClosed
		}
		w.sub = nil // the next wait tries again
		w.mu.Unlock()
		_ = ps.Close()
		close(sub.ready)
		log.Warn("subscribing to ended calls; waiting requests look once a second instead", "error", sub.err)
		return
	}
	sub.ps = ps
	w.mu.Unlock()
	close(sub.ready)

	for msg := range ps.Channel() {
		w.mu.Lock()
		for ch := range w.waiting[msg.Payload] {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
		w.mu.Unlock()
	}
	w.mu.Lock()
	if w.sub == sub {
		w.sub = nil
	}
	w.mu.Unlock()
}

// close ends the subscription; waits after it look once a second.
func (w *callWaiters) close() {
	w.mu.Lock()
	w.closed = true
	var ps *redis.PubSub
	if w.sub != nil {
		ps = w.sub.ps
	}
	w.mu.Unlock()
	if ps != nil {
		_ = ps.Close()
	}
}
