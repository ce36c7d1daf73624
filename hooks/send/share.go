package send

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// A target's share of a process's slots. A worker runs DELIVERY_CONCURRENCY
// deliveries (and WORKER_CONCURRENCY other tasks, API calls among them) at
// once; without a bound, a target that answers slowly or not at all would
// hold every one of them, and the others would wait for its timeouts. A
// share lets a target have at most max requests under way in this process.
// A request over it waits here a moment while the target's requests are
// quick (a busy target that answers), and is postponed at once while they
// are slow: the wait is then as long as the target's oldest request has
// been under way, so a hanging target's deliveries look again rarely, and a
// recovering one's soon.

// shareWaitHere bounds how long a request waits in its slot for its
// target's share, while the target's requests are quick.
const shareWaitHere = 100 * time.Millisecond

// slowRequest is how long a request to a target must have been under way
// for the target to count as slow.
const slowRequest = time.Second

// Share bounds what each target has under way in this process.
type Share struct {
	max     int
	mu      sync.Mutex
	targets map[string]*shareOf
}

type shareOf struct {
	started map[uint64]time.Time // requests under way, when each started
	freed   chan struct{}        // closed and replaced when one ends
}

// NewShare lets each target have max requests under way.
func NewShare(max int) *Share { return &Share{max: max, targets: map[string]*shareOf{}} }

// Take takes one of key's slots; release gives it back, and may be called
// more than once (once the request is answered, and again on the way out).
// wait > 0: the target is at its share; come back after wait (no slot was
// taken).
func (s *Share) Take(ctx context.Context, key string) (release func(), wait time.Duration) {
	deadline := time.Now().Add(shareWaitHere)
	for {
		s.mu.Lock()
		t := s.targets[key]
		if t == nil {
			t = &shareOf{started: map[uint64]time.Time{}, freed: make(chan struct{})}
			s.targets[key] = t
		}
		if len(t.started) < s.max {
			id := rand.Uint64()
			t.started[id] = time.Now()
			s.mu.Unlock()
			return sync.OnceFunc(func() { s.give(key, id) }), 0
		}
		oldest := time.Since(t.oldest())
		freed := t.freed
		s.mu.Unlock()
		left := time.Until(deadline)
		if oldest >= slowRequest || left <= 0 {
			return nil, min(max(oldest, 250*time.Millisecond), time.Minute) + time.Duration(rand.Int64N(int64(100*time.Millisecond)))
		}
		select {
		case <-freed:
		case <-time.After(left):
		case <-ctx.Done():
			return nil, 250 * time.Millisecond
		}
	}
}

func (s *Share) give(key string, id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.targets[key]
	delete(t.started, id)
	close(t.freed)
	t.freed = make(chan struct{})
	if len(t.started) == 0 {
		delete(s.targets, key)
	}
}

func (t *shareOf) oldest() time.Time {
	o := time.Now()
	for _, at := range t.started {
		if at.Before(o) {
			o = at
		}
	}
	return o
}

// UnderWay is how many requests to key are under way.
func (s *Share) UnderWay(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.targets[key]; t != nil {
		return len(t.started)
	}
	return 0
}
