package jobs

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

)

// TestRecovererMatchesAsynqKeys runs a task on a real asynq server and
// checks that asynq keeps it where recoverLeasesCmd looks (the lease set
// scored by the lease's end, the active list, the task hash's state): it
// fails if an asynq upgrade moves any of them. Then it shows the script
// leaving a live lease alone, and handing back one that ended as if its
// worker had died, to be taken again by asynq as it is.
func TestRecovererMatchesAsynqKeys(t *testing.T) {
	t.Parallel()
	r := openRedis(t)
	ctx := context.Background()
	release := make(chan struct{})
	var (
		mu   sync.Mutex
		runs []string
	)
	mux := asynq.NewServeMux()
	mux.HandleFunc("recover:probe", func(ctx context.Context, task *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		mu.Lock()
		runs = append(runs, id+"|"+string(task.Payload()))
		mu.Unlock()
		<-release
		return nil
	})
	srv := asynq.NewServerFromRedisClient(r.UniversalClient, asynq.Config{
		Concurrency: 2, Queues: map[string]int{QueueLow: 1}, TaskCheckInterval: 10 * time.Millisecond,
		ShutdownTimeout: time.Second, Logger: slogAdapter{testLogger(t)}, LogLevel: asynq.ErrorLevel,
	})
	require.NoError(t, srv.Start(mux))
	t.Cleanup(srv.Shutdown)
	t.Cleanup(func() { close(release) })
	c := NewClient(r)
	t.Cleanup(func() { c.Close() })
	_, err := c.Enqueue(ctx, asynq.NewTask("recover:probe", []byte("payload")), asynq.TaskID("probe1"), asynq.Queue(QueueLow))
	require.NoError(t, err)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(runs) }
	require.Eventually(t, func() bool { return count() == 1 }, 5*time.Second, 5*time.Millisecond)

	keys, prefix := leaseKeys(QueueLow)
	score, err := r.ZScore(ctx, keys[0], "probe1").Result()
	require.NoError(t, err, "asynq leases a running task in %s", keys[0])
	now := time.Now()
	require.InDelta(t, float64(now.Add(30*time.Second).Unix()), score, 2, "the lease ends 30 s on, in unix seconds")
	active, err := r.LRange(ctx, keys[1], 0, -1).Result()
	require.NoError(t, err)
	require.Equal(t, []string{"probe1"}, active, "asynq lists a running task in %s", keys[1])
	state, err := r.HGet(ctx, prefix+"probe1", "state").Result()
	require.NoError(t, err)
	require.Equal(t, "active", state, "asynq keeps the task in the hash %sprobe1", prefix)

	n, err := recoverLeases(ctx, r.UniversalClient, now.Add(-leaseSkew), QueueLow)
	require.NoError(t, err)
	require.Zero(t, n, "a live worker's lease is left alone")

	// 40 s later without a heartbeat, as a dead worker leaves it.
	n, err = recoverLeases(ctx, r.UniversalClient, now.Add(40*time.Second-leaseSkew), QueueLow)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Eventually(t, func() bool { return count() == 2 }, 5*time.Second, 5*time.Millisecond, "asynq takes the task again")
	mu.Lock()
	require.Equal(t, []string{"probe1|payload", "probe1|payload"}, runs, "the same task, its message untouched")
	mu.Unlock()

	// A lease whose task is gone is dropped, not kept in every later run.
	require.NoError(t, r.ZAdd(ctx, keys[0], redis.Z{Score: float64(now.Add(-time.Minute).Unix()), Member: "gone"}).Err())
	require.NoError(t, r.LPush(ctx, keys[1], "gone").Err())
	n, err = recoverLeases(ctx, r.UniversalClient, now.Add(-leaseSkew), QueueLow)
	require.NoError(t, err)
	require.Zero(t, n)
	require.ErrorIs(t, r.ZScore(ctx, keys[0], "gone").Err(), redis.Nil)
}

