package jobs

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/tcpproxy"
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
	c := newClient(t, r)
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

// TestDeliveriesComeBackWithin15sOfRedisLosingItsData empties Redis (as a
// restart without persistence does) with every delivery of an intake on
// the queue: the scheduler's sweep queues them all again, and they arrive
// within 15 s.
func TestDeliveriesComeBackWithin15sOfRedisLosingItsData(t *testing.T) {
	t.Parallel()
	e := newDeliveryEnv(t, hooks.Schedule{0}, answerAll(http.StatusNoContent))
	ctx := context.Background()
	ids := e.ingest(t, 150)
	ping, opts := NewPingTask() // the client has named the critical queue
	_, err := e.client.Enqueue(ctx, ping, opts...)
	require.NoError(t, err)
	require.NoError(t, e.r.FlushDB(ctx).Err())
	lost := time.Now()

	e.startWorker(t, 20)
	s, err := NewScheduler(SchedulerOptions{Redis: e.r, Log: testLogger(t), Sources: []PeriodicSource{DeliveryHousekeeping{}}})
	require.NoError(t, err)
	require.NoError(t, s.Start())
	t.Cleanup(s.Shutdown)
	require.Eventually(t, func() bool {
		got, _ := e.recv.counts()
		return len(got) == len(ids)
	}, time.Until(lost.Add(15*time.Second)), 20*time.Millisecond, "every delivery arrives within 15 s of the loss")
	for _, id := range ids {
		e.waitStatus(t, id, "succeeded")
	}
	// asynq's client names a queue in asynq:queues once per process, and
	// its inspector finds no queue that is not named there: the worker's
	// recoverer names them again, or the readiness ping would fail for
	// good.
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = e.client.PingWorker(pctx)
	require.NoError(t, err)
}

// outage takes the delivery engine's database away: on PostgreSQL by
// cutting the TCP proxy it reaches the server through (the server itself
// is shared and stays up), on SQLite by holding the write lock from
// another connection, so that every write fails once busy_timeout (10 s)
// runs out. via opens the engine's database; cut and restore are the
// outage.
type outage struct {
	t     *testing.T
	proxy *tcpproxy.Proxy
	lock  *sql.Tx
	d     dbtest.Database
}

func (o *outage) via(d dbtest.Database) *db.DB {
	o.d = d
	if d.Dialect != db.Postgres {
		return d.DB
	}
	u, err := url.Parse(d.URL)
	require.NoError(o.t, err)
	o.proxy, err = tcpproxy.New(u.Host)
	require.NoError(o.t, err)
	o.t.Cleanup(o.proxy.Close)
	u.Host = o.proxy.Addr
	via, err := db.Open(context.Background(), u.String())
	require.NoError(o.t, err)
	o.t.Cleanup(func() { via.Close() })
	return via
}

func (o *outage) cut() {
	if o.proxy != nil {
		o.proxy.Cut()
		return
	}
	other, err := db.Open(context.Background(), "sqlite:"+strings.TrimPrefix(o.d.URL, "sqlite:"))
	require.NoError(o.t, err)
	o.t.Cleanup(func() { other.Close() })
	o.lock, err = other.BeginTx(context.Background(), nil) // _txlock=immediate: the write lock, now
	require.NoError(o.t, err)
}

func (o *outage) restore() {
	if o.proxy != nil {
		require.NoError(o.t, o.proxy.Restore())
		return
	}
	require.NoError(o.t, o.lock.Rollback())
}

// TestDeliveriesRunAgainWithin15sOfTheDatabaseReturning starts a worker on
// deliveries with the database gone for 20 s: their batches fail run after
// run, and every delivery arrives within 15 s of its return (with asynq's
// default delays, capped at a minute, a run could wait up to a minute).
func TestDeliveriesRunAgainWithin15sOfTheDatabaseReturning(t *testing.T) {
	t.Parallel()
	o := &outage{t: t}
	e := newDeliveryEnvOn(t, hooks.Schedule{0}, answerAll(http.StatusNoContent), o.via)
	ctx := context.Background()
	var ids []string
	for i := range 12 { // a batch each
		items, err := e.hooks.IngestBatch(ctx, []hooks.EventInput{{ID: "order.db." + string(rune('a'+i)), Type: "order.paid"}})
		require.NoError(t, err)
		ids = append(ids, items[0].Deliveries...)
	}
	o.cut()
	e.startWorker(t, 20)
	time.Sleep(20 * time.Second)
	o.restore()
	back := time.Now()
	require.Eventually(t, func() bool {
		for _, id := range ids {
			var status string
			if err := e.db.QueryRowContext(ctx, `SELECT status FROM deliveries WHERE id = $1`, id).Scan(&status); err != nil || status != "succeeded" {
				return false
			}
		}
		return true
	}, time.Until(back.Add(15*time.Second)), 20*time.Millisecond, "every delivery succeeds within 15 s of the database's return")
}

func TestInfrastructureRetriesAreShortAndCapped(t *testing.T) {
	t.Parallel()
	task := asynq.NewTask(TypeDeliverySend, nil)
	var got []time.Duration
	for n := range 6 {
		got = append(got, retryDelay(n, sql.ErrConnDone, task))
	}
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}, got)
	require.Equal(t, 5*time.Second, retryDelay(5_000, sql.ErrConnDone, asynq.NewTask(TypeCallSend, nil)), "calls too, however many runs before")
	require.Zero(t, retryDelay(3, asynq.ErrLeaseExpired, task), "a dead worker's task is due at once")
}

// TestSweepReadsPastItsFirstPage loses more deliveries than a page of the
// sweep holds: one sweep queues them all, not only the oldest thousand
// (which, behind a slow receiver, would hold the rest back for sweeps on
// end).
func TestSweepReadsPastItsFirstPage(t *testing.T) {
	t.Parallel()
	e := newDeliveryEnv(t, hooks.Schedule{0}, answerAll(http.StatusNoContent))
	ctx := context.Background()
	in := make([]hooks.EventInput, 0, 1000)
	for i := range 1300 {
		in = append(in, hooks.EventInput{ID: "order.page." + strconv.Itoa(i), Type: "order.paid"})
		if len(in) == cap(in) || i == 1299 {
			_, err := e.hooks.IngestBatch(ctx, in)
			require.NoError(t, err)
			in = in[:0]
		}
	}
	require.NoError(t, e.r.FlushDB(ctx).Err())
	n, err := e.hooks.Sweep(ctx, -time.Hour)
	require.NoError(t, err)
	require.Equal(t, 1300, n)
	batches := e.db.Strings(t, `SELECT DISTINCT batch_id FROM deliveries`)
	require.Len(t, batches, 16+5) // 1000 in 16 batches, 300 in 5
	_, prefix := leaseKeys(QueueDefault)
	for _, b := range batches {
		state, err := e.r.HGet(ctx, prefix+b, "state").Result()
		require.NoError(t, err, "batch %s is queued again", b)
		require.Equal(t, "pending", state)
	}
}
