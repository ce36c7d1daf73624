package jobs

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/oauthfake"
	"github.com/liaison/liaison/internal/redistest"
	"github.com/liaison/liaison/internal/secret"
)

// testLogger writes to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// testRedirect is the connections' redirect URI in these tests.
const testRedirect = "http://liaison.test/oauth/callback"

// openServices opens the test's Redis and database and a connections
// service on them (loopback allowed), with its key ring.
func openServices(t *testing.T) (*Redis, dbtest.Database, *secret.Ring, *connections.Service) {
	t.Helper()
	r := openRedis(t)
	d := dbtest.New(t)
	key, err := secret.NewKey()
	require.NoError(t, err)
	ring, err := secret.NewRing([][]byte{key})
	require.NoError(t, err)
	conns, err := connections.New(connections.Options{
		DB: d.DB, Redis: r.UniversalClient, Ring: ring, RedirectURI: testRedirect, Log: testLogger(t),
		AllowedCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	require.NoError(t, err)
	t.Cleanup(conns.Close)
	return r, d, ring, conns
}

// connect takes the connection through the OAuth flow at the fake
// provider, as the person connecting it would.
func connect(t testing.TB, svc *connections.Service, p *oauthfake.Provider, id string) {
	t.Helper()
	ctx := context.Background()
	u, err := svc.AuthorizeURL(ctx, id)
	require.NoError(t, err)
	back, err := p.Visit(ctx, u)
	require.NoError(t, err)
	require.True(t, svc.Complete(ctx, back.Query()).OK)
}

func openRedis(t *testing.T) *Redis {
	t.Helper()
	r, err := OpenRedis(context.Background(), redistest.New(t), testLogger(t))
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// newClient is a client on r, closed after the test.
func newClient(t testing.TB, r *Redis) *Client {
	c := NewClient(r)
	t.Cleanup(func() { c.Close() })
	return c
}

// sweepOnce checks that src schedules task alone at cronspec, then
// enqueues task as the scheduler would, checks that a second one is
// refused (sweeps never pile up) and waits for the first to succeed.
func sweepOnce(t *testing.T, c *Client, src PeriodicSource, cronspec string, task *asynq.Task, opts []asynq.Option) {
	t.Helper()
	tasks, err := src.PeriodicTasks()
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Equal(t, cronspec, tasks[0].Cronspec)
	require.Equal(t, task.Type(), tasks[0].Task.Type())

	info, err := c.Enqueue(t.Context(), task, append(opts, asynq.Retention(time.Minute))...)
	require.NoError(t, err)
	_, err = c.Enqueue(t.Context(), task, opts...)
	require.ErrorIs(t, err, ErrDuplicate, "unique: sweeps never pile up")
	wctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = c.WaitResult(wctx, info.Queue, info.ID)
	require.NoError(t, err)
}

// startWorker starts a worker on r, shut down after the test.
func startWorker(t testing.TB, r *Redis, cfg WorkerOptions, deps Deps) *Worker {
	cfg.Redis, cfg.Deps, cfg.Log = r, deps, testLogger(t)
	w, err := NewWorker(cfg)
	require.NoError(t, err)
	require.NoError(t, w.Start())
	t.Cleanup(w.Shutdown)
	return w
}

func TestEmbeddedRedisRunsAsynqScripts(t *testing.T) {
	t.Parallel()
	r, err := OpenRedis(context.Background(), "", testLogger(t))
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	require.True(t, r.Embedded())

	startWorker(t, r, WorkerOptions{Concurrency: 2, ShutdownTimeout: time.Second}, Deps{})

	c := newClient(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.PingWorker(ctx)
	require.NoError(t, err)
	require.Equal(t, os.Getpid(), res.PID)
}

func TestPingThroughRealQueue(t *testing.T) {
	t.Parallel()
	r := openRedis(t)
	startWorker(t, r, WorkerOptions{Concurrency: 4}, Deps{})

	c := newClient(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 3 {
		res, err := c.PingWorker(ctx)
		require.NoError(t, err)
		require.Equal(t, os.Getpid(), res.PID)
	}
}

func TestPingWithoutWorkerTimesOut(t *testing.T) {
	t.Parallel()
	r := openRedis(t)
	c := newClient(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.PingWorker(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestShutdownLetsInFlightTaskFinish(t *testing.T) {
	t.Parallel()
	r := openRedis(t)
	started := make(chan struct{})
	var finished, cancelled atomic.Bool
	mux := asynq.NewServeMux()
	mux.HandleFunc("test:slow", func(ctx context.Context, _ *asynq.Task) error {
		close(started)
		select {
		case <-time.After(700 * time.Millisecond):
			finished.Store(true)
			return nil
		case <-ctx.Done():
			cancelled.Store(true)
			return ctx.Err()
		}
	})
	w := newWorker(WorkerOptions{Redis: r, Log: testLogger(t), Concurrency: 2, ShutdownTimeout: 5 * time.Second}, mux)
	require.NoError(t, w.Start())

	c := newClient(t, r)
	_, err := c.Enqueue(context.Background(), asynq.NewTask("test:slow", nil), asynq.TaskID("slow-1"), asynq.Retention(time.Minute))
	require.NoError(t, err)
	<-started

	begin := time.Now()
	w.Shutdown()
	require.True(t, finished.Load(), "the in-flight task ran to its end")
	require.False(t, cancelled.Load())
	require.Less(t, time.Since(begin), 5*time.Second, "shutdown did not wait for the whole bound")

	info, err := c.ins.GetTaskInfo(QueueDefault, "slow-1")
	require.NoError(t, err)
	require.Equal(t, asynq.TaskStateCompleted, info.State)
}

func TestShutdownBoundHandsUnfinishedTaskBack(t *testing.T) {
	t.Parallel()
	r := openRedis(t)
	started := make(chan struct{})
	mux := asynq.NewServeMux()
	mux.HandleFunc("test:stuck", func(ctx context.Context, _ *asynq.Task) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	w := newWorker(WorkerOptions{Redis: r, Log: testLogger(t), Concurrency: 1, ShutdownTimeout: 300 * time.Millisecond}, mux)
	require.NoError(t, w.Start())

	c := newClient(t, r)
	_, err := c.Enqueue(context.Background(), asynq.NewTask("test:stuck", nil), asynq.TaskID("stuck-1"))
	require.NoError(t, err)
	<-started

	begin := time.Now()
	w.Shutdown()
	require.Less(t, time.Since(begin), 3*time.Second, "shutdown is bounded")

	// The task is not lost: it is back on its queue for the next worker.
	info, err := c.ins.GetTaskInfo(QueueDefault, "stuck-1")
	require.NoError(t, err)
	require.Contains(t, []asynq.TaskState{asynq.TaskStatePending, asynq.TaskStateRetry}, info.State)
}

func TestDuplicateTaskID(t *testing.T) {
	t.Parallel()
	r := openRedis(t)
	c := newClient(t, r)
	_, err := c.Enqueue(context.Background(), asynq.NewTask("test:x", nil), asynq.TaskID("same"))
	require.NoError(t, err)
	_, err = c.Enqueue(context.Background(), asynq.NewTask("test:x", nil), asynq.TaskID("same"))
	require.True(t, errors.Is(err, ErrDuplicate), "got %v; want ErrDuplicate", err)
}

func TestRedisURLForms(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"redis://127.0.0.1:6379/2",
		"rediss://user:pw@redis.example.com:6380/0",
		"redis-sentinel://:pw@s1:26379/0?master_name=main&addr=s2:26379",
		"redis-cluster://n1:6379?addr=n2:6379",
	} {
		c, err := NewRedisClient(u)
		require.NoError(t, err, u)
		c.Close()
	}
	_, err := NewRedisClient("memcached://x:1")
	require.Error(t, err)
}
