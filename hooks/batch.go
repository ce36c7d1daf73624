package hooks

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Doing the database work of many deliveries together. A worker runs
// dozens of deliveries at once, and each reads its delivery and writes its
// attempt. Alone, each read and each write is a statement, a round trip and
// (for a write) a commit; at thousands of deliveries a second it is that
// overhead, not the rows, that the database and the worker spend their
// time on.
//
// So the deliveries of a process share: work that arrives while a batch of
// its kind is under way waits for the next one, which takes everything
// waiting by then, up to maxBatch, in one statement. Work never waits for
// company: when nothing of its kind is under way it goes at once, so a
// quiet worker is as quick as before and a busy one makes fewer, larger
// statements. Up to maxRunners batches of a kind are under way at once.

// batchCall is one goroutine's share of a batch: its input, and its answer
// once done is closed.
type batchCall[In, Out any] struct {
	in   In
	out  Out
	err  error
	done chan struct{}
}

// answer gives the call its result and wakes its goroutine.
func (c *batchCall[In, Out]) answer(out Out, err error) {
	c.out, c.err = out, err
	close(c.done)
}

// batcher gathers calls waiting to be run. Its zero value is ready to use.
type batcher[In, Out any] struct {
	mu      sync.Mutex
	waiting []*batchCall[In, Out]
	runners int
}

// batchLimits bound a batcher: how many calls one batch takes, how many
// batches are under way at once and how long one may take. leaveOnCancel
// lets a caller whose context ends stop waiting (its call is still run);
// without it a caller waits for its answer whatever its context says, as
// a write of what was sent must be.
type batchLimits struct {
	maxBatch, maxRunners int
	timeout              time.Duration
	leaveOnCancel        bool
}

// batchFunc runs a batch and must answer every call in it.
type batchFunc[In, Out any] func(ctx context.Context, batch []*batchCall[In, Out])

// do runs in, alone or with others, and returns its answer. run is the same
// function on every call of a batcher. A batch runs without its callers'
// cancellation (it is others' work too), within lim.timeout.
func (b *batcher[In, Out]) do(ctx context.Context, in In, lim batchLimits, run batchFunc[In, Out]) (Out, error) {
	c := &batchCall[In, Out]{in: in, done: make(chan struct{})}
	b.mu.Lock()
	b.waiting = append(b.waiting, c)
	start := b.runners < lim.maxRunners
	if start {
		b.runners++
	}
	b.mu.Unlock()
	if start {
		b.drain(context.WithoutCancel(ctx), c, lim, run)
	}
	if lim.leaveOnCancel {
		select {
		case <-c.done:
		case <-ctx.Done():
			var zero Out
			return zero, ctx.Err()
		}
	}
	<-c.done
	return c.out, c.err
}

// drain runs batches of waiting calls until own is answered; then, if calls
// still wait, it leaves a goroutine to go on with them, so that the caller
// is not held up by others' work.
func (b *batcher[In, Out]) drain(ctx context.Context, own *batchCall[In, Out], lim batchLimits, run batchFunc[In, Out]) {
	for {
		b.mu.Lock()
		if len(b.waiting) == 0 {
			b.runners--
			b.mu.Unlock()
			return
		}
		if own != nil && isDone(own.done) {
			b.mu.Unlock()
			go b.drain(ctx, nil, lim, run) // in this runner's place
			return
		}
		n := min(len(b.waiting), lim.maxBatch)
		batch := b.waiting[:n:n]
		if b.waiting = b.waiting[n:]; len(b.waiting) == 0 {
			b.waiting = nil
		}
		b.mu.Unlock()
		runOne(ctx, batch, lim.timeout, run)
	}
}

// runOne runs a batch within timeout. A batch that panics answers its
// unanswered calls with the panic as their error rather than leave them
// (and every later call of the batcher) waiting for good.
func runOne[In, Out any](ctx context.Context, batch []*batchCall[In, Out], timeout time.Duration, run batchFunc[In, Out]) {
	defer func() {
		if p := recover(); p != nil {
			var zero Out
			for _, c := range batch {
				if !isDone(c.done) {
					c.answer(zero, fmt.Errorf("hooks: a batch of %d failed: %v", len(batch), p))
				}
			}
		}
	}()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	run(ctx, batch)
}

// idle reports whether nothing waits and no batch is under way.
func (b *batcher[In, Out]) idle() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.runners == 0 && len(b.waiting) == 0
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
