package hooks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/db"
)

func TestCallsArrivingDuringABatchGoTogetherInTheNext(t *testing.T) {
	t.Parallel()
	var (
		b        batcher[int, string]
		batches  atomic.Int32
		largest  atomic.Int32
		first    = make(chan struct{})
		released = make(chan struct{})
	)
	lim := batchLimits{maxBatch: 8, maxRunners: 1}
	run := func(_ context.Context, batch []*batchCall[int, string]) {
		if batches.Add(1) == 1 {
			close(first)
			<-released // hold the first batch until the others wait
		}
		if n := int32(len(batch)); n > largest.Load() {
			largest.Store(n)
		}
		for _, c := range batch {
			if c.in%5 == 0 {
				c.answer("", fmt.Errorf("no %d", c.in))
				continue
			}
			c.answer(fmt.Sprint("got ", c.in), nil)
		}
	}
	const n = 20
	outs, errs := make([]string, n), make([]error, n)
	var wg sync.WaitGroup
	wg.Go(func() { outs[1], errs[1] = b.do(context.Background(), 1, lim, run) })
	<-first
	for i := 2; i < n; i++ {
		wg.Go(func() { outs[i], errs[i] = b.do(context.Background(), i, lim, run) })
	}
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.waiting) == n-2
	}, 5*time.Second, time.Millisecond)
	close(released)
	wg.Wait()

	for i := 1; i < n; i++ {
		if i%5 == 0 {
			require.EqualError(t, errs[i], fmt.Sprint("no ", i), "each call gets its own answer")
			continue
		}
		require.NoError(t, errs[i])
		require.Equal(t, fmt.Sprint("got ", i), outs[i])
	}
	// 1 alone, then the 18 that waited in batches of at most 8.
	require.Equal(t, int32(4), batches.Load())
	require.Equal(t, int32(8), largest.Load())
	require.Eventually(t, b.idle, 5*time.Second, time.Millisecond, "no runner or call is left behind")
}

func TestRunsStartingTogetherEachLoadTheirOwnDelivery(t *testing.T) {
	t.Parallel()
	s, ids := recordBundle(t, 200)
	ctx := context.Background()
	event := map[string]string{}
	for i, id := range ids {
		event[id] = fmt.Sprintf("evt_%d", i)
	}
	ids = append(ids, "dlv_gone", ids[0]) // one that is not there, one asked twice
	got := make([]*loaded, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { got[i], errs[i] = s.load(ctx, id) })
	}
	wg.Wait()
	for i, id := range ids {
		if id == "dlv_gone" {
			require.True(t, errors.Is(errs[i], db.ErrNoRows), "a delivery that is gone: %v", errs[i])
			continue
		}
		require.NoError(t, errs[i], id)
		require.Equal(t, id, got[i].id)
		require.Equal(t, event[id], got[i].eventID, "the delivery's own event")
		require.Equal(t, statusPending, got[i].status)
	}
	require.NotSame(t, got[0], got[len(ids)-1], "a delivery asked for twice is two copies")
	require.Eventually(t, s.loader.idle, 5*time.Second, time.Millisecond)
}

func TestABatchThatPanicsAnswersItsCallsAndTheBatcherGoesOn(t *testing.T) {
	t.Parallel()
	var b batcher[int, int]
	lim := batchLimits{maxBatch: 8, maxRunners: 1}
	boom := func(_ context.Context, batch []*batchCall[int, int]) {
		batch[0].answer(1, nil) // answered before the panic: keeps its answer
		panic("driver bug")
	}
	out, err := b.do(context.Background(), 7, lim, boom)
	require.NoError(t, err)
	require.Equal(t, 1, out)

	batch := make([]*batchCall[int, int], 3)
	for i := range batch {
		batch[i] = &batchCall[int, int]{in: i, done: make(chan struct{})}
	}
	runOne(context.Background(), batch, 0, boom)
	require.NoError(t, batch[0].err, "answered before the panic")
	for _, c := range batch[1:] {
		require.True(t, isDone(c.done))
		require.ErrorContains(t, c.err, "driver bug", "the calls the panic left unanswered get it as their error")
	}
	require.Eventually(t, b.idle, 5*time.Second, time.Millisecond, "the runner was given back")

	out, err = b.do(context.Background(), 3, lim, func(_ context.Context, batch []*batchCall[int, int]) {
		for _, c := range batch {
			c.answer(c.in*2, nil)
		}
	})
	require.NoError(t, err)
	require.Equal(t, 6, out, "later calls run as ever")
}

func TestACallerThatMayLeaveStopsWaitingWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	var b batcher[int, int]
	lim := batchLimits{maxBatch: 8, maxRunners: 1, leaveOnCancel: true}
	started, release := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	held := func(_ context.Context, batch []*batchCall[int, int]) {
		if runs.Add(1) == 1 {
			close(started)
			<-release
		}
		for _, c := range batch {
			c.answer(c.in, nil)
		}
	}
	first := make(chan error, 1)
	go func() { _, err := b.do(context.Background(), 1, lim, held); first <- err }()
	<-started

	// A second caller waits for the next batch; its context ends first.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := b.do(ctx, 2, lim, held)
	require.ErrorIs(t, err, context.DeadlineExceeded, "it leaves rather than wait for the batch under way")

	close(release)
	require.NoError(t, <-first)
	require.Eventually(t, b.idle, 5*time.Second, time.Millisecond, "the call that left was still run and answered")
	require.Equal(t, int32(2), runs.Load())
}

func TestABatchRunsWithinItsTimeLimit(t *testing.T) {
	t.Parallel()
	var b batcher[int, int]
	stuck := func(ctx context.Context, batch []*batchCall[int, int]) {
		<-ctx.Done() // a statement that never answers, but for the limit
		for _, c := range batch {
			c.answer(0, ctx.Err())
		}
	}
	_, err := b.do(context.Background(), 1, batchLimits{maxBatch: 8, maxRunners: 1, timeout: 50 * time.Millisecond}, stuck)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}
