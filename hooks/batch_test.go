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
