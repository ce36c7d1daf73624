package jobs

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/liaison/liaison/internal/redistest"
)

// BenchmarkEmptyHandler is the yardstick of the delivery target
// (docs/DESIGN.md, "Targets": "about half of what asynq does for an empty
// handler on the same machine"): tasks a second through a worker built as Liaison builds it
// (its servers, queues and intervals) whose handler does nothing. The
// tasks are queued first; the clock runs from the worker's start to the
// last task done. Compare with cmd/deliverybench on the same Redis:
//
//	REDIS_URL=redis://127.0.0.1:6379 go test ./jobs -run '^$' -bench EmptyHandler -benchtime 20000x
func BenchmarkEmptyHandler(b *testing.B) {
	r, err := OpenRedis(context.Background(), redistest.New(b), testLogger(b))
	require.NoError(b, err)
	b.Cleanup(func() { r.Close() })
	c := newClient(b, r)

	var g errgroup.Group
	g.SetLimit(enqueueConcurrency)
	for i := range b.N {
		g.Go(func() error {
			t, opts := NewDeliveryTask(fmt.Sprintf("dlv_bench_%d", i))
			_, err := c.Enqueue(context.Background(), t, opts...)
			return err
		})
	}
	require.NoError(b, g.Wait())

	var done atomic.Int64
	all := make(chan struct{})
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeDeliverySend, func(context.Context, *asynq.Task) error {
		if done.Add(1) == int64(b.N) {
			close(all)
		}
		return nil
	})
	w := newWorker(WorkerOptions{Redis: r, Log: testLogger(b)}, mux)
	b.ResetTimer()
	start := time.Now()
	require.NoError(b, w.Start())
	<-all
	took := time.Since(start)
	b.StopTimer()
	w.Shutdown()
	b.ReportMetric(float64(b.N)/took.Seconds(), "tasks/s")
}
