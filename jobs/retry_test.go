package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/retry"
)

// TestTheVocabularyOfRetryIsWhatAsynqDoes runs one task for each value of
// internal/retry through a real worker, on the mux the worker's handlers
// are registered on, and reads what asynq made of it: when it runs again,
// whether that run was counted, or whether it was archived.
func TestTheVocabularyOfRetryIsWhatAsynqDoes(t *testing.T) {
	t.Parallel()
	answers := map[string]error{
		"postponed": &retry.Later{After: 3 * time.Second, Reason: "over the target's limit"},
		"retried":   &retry.Later{After: 3 * time.Second, Err: errors.New("answered 503 Service Unavailable")},
		"never":     retry.Never(errors.New("the payload does not decode")),
		"plain":     errors.New("the database does not answer"),
	}
	mux := newMux(Deps{}, newDeliveryRuns(1), testLogger(t))
	mux.HandleFunc("test:answer", func(_ context.Context, t *asynq.Task) error {
		return answers[string(t.Payload())]
	})
	r := openRedis(t)
	w := newWorker(WorkerOptions{Redis: r, Log: testLogger(t), Concurrency: 4, ShutdownTimeout: time.Second}, mux)
	require.NoError(t, w.Start())
	t.Cleanup(w.Shutdown)

	c := newClient(t, r)
	start := time.Now()
	for id := range answers {
		_, err := c.Enqueue(context.Background(), asynq.NewTask("test:answer", []byte(id)), asynq.TaskID(id), asynq.Queue(QueueLow), asynq.MaxRetry(5))
		require.NoError(t, err)
	}
	ran := func(id string) *asynq.TaskInfo {
		t.Helper()
		var info *asynq.TaskInfo
		require.Eventually(t, func() bool {
			var err error
			info, err = c.ins.GetTaskInfo(QueueLow, id)
			return err == nil && (info.State == asynq.TaskStateRetry || info.State == asynq.TaskStateArchived)
		}, 10*time.Second, 10*time.Millisecond, "%s: the task ran once", id)
		return info
	}

	// A postponement runs again after its wait, and is no failure: asynq
	// does not count it against MaxRetry.
	info := ran("postponed")
	require.Equal(t, asynq.TaskStateRetry, info.State)
	require.Zero(t, info.Retried, "a postponement is not counted")
	requireDueAfter(t, info, start, 3*time.Second)

	// A retry after a failure runs again after its wait too, and counts.
	info = ran("retried")
	require.Equal(t, asynq.TaskStateRetry, info.State)
	require.Equal(t, 1, info.Retried, "a retry after a failure is counted")
	requireDueAfter(t, info, start, 3*time.Second)
	require.Contains(t, info.LastErr, "answered 503 Service Unavailable")

	// Never is archived at once, without a retry.
	info = ran("never")
	require.Equal(t, asynq.TaskStateArchived, info.State, "never retried")
	require.Zero(t, info.Retried)
	require.Contains(t, info.LastErr, "the payload does not decode")

	// Any other error is a failure, retried after asynq's own backoff (at
	// least 15 s for a first retry).
	info = ran("plain")
	require.Equal(t, asynq.TaskStateRetry, info.State)
	require.Equal(t, 1, info.Retried)
	require.False(t, info.NextProcessAt.Before(start.Add(14*time.Second)), "next run at %s, %s after the start", info.NextProcessAt, info.NextProcessAt.Sub(start))
}

// requireDueAfter checks that a task waits about wait from start: asynq
// keeps the time in whole seconds, and the task ran a moment after start.
func requireDueAfter(t *testing.T, info *asynq.TaskInfo, start time.Time, wait time.Duration) {
	t.Helper()
	due := info.NextProcessAt.Sub(start)
	require.Greater(t, due, wait-time.Second-time.Millisecond, "due %s after the start", due)
	require.LessOrEqual(t, due, wait+2*time.Second, "due %s after the start", due)
}

// TestDeliveryWaitsEndOnAWholeSecond: a delivery's or call's wait of a
// second or more never ends early on asynq's whole-second clock; other
// tasks' waits are as asked; a negative wait is none.
func TestDeliveryWaitsEndOnAWholeSecond(t *testing.T) {
	t.Parallel()
	later := &retry.Later{After: 1400 * time.Millisecond}
	for _, typ := range []string{TypeDeliverySend, TypeDeliveryBatch, TypeCallSend} {
		before := time.Now()
		d := retryDelay(1, later, asynq.NewTask(typ, nil))
		after := time.Now()
		require.GreaterOrEqual(t, d, later.After, typ)
		require.Less(t, d, later.After+time.Second, typ)
		// The wait was measured from a moment between before and after.
		require.False(t, after.Add(d).Truncate(time.Second).Before(before.Add(d)), "%s: %s ends on a whole second", typ, d)
	}
	require.Equal(t, later.After, retryDelay(1, later, asynq.NewTask(TypeImportRun, nil)))
	require.Equal(t, 200*time.Millisecond, retryDelay(1, &retry.Later{After: 200 * time.Millisecond}, asynq.NewTask(TypeDeliverySend, nil)), "a short wait means soon")
	require.Zero(t, retryDelay(1, &retry.Later{After: -time.Second}, asynq.NewTask(TypeImportRun, nil)))
}
