package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/db/dbtest"
)

// deliveryEnv is the delivery engine on a real database and Redis, with a
// queue client and no worker yet: a test starts one when it is ready.
type deliveryEnv struct {
	r      *Redis
	db     dbtest.Database
	client *Client
	hooks  *hooks.Service
	recv   *countingReceiver
}

// countingReceiver answers each request with what answer says for the
// event, and counts requests by webhook-id and the most in flight at once.
type countingReceiver struct {
	*httptest.Server
	answer func(eventID string) (status int, hold time.Duration)

	mu             sync.Mutex
	byDelivery     map[string]int
	inFlight, peak int
}

func (rc *countingReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var payload struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(r.Body).Decode(&payload)
	status, hold := rc.answer(payload.ID)
	rc.mu.Lock()
	rc.byDelivery[r.Header.Get("webhook-id")]++
	rc.inFlight++
	rc.peak = max(rc.peak, rc.inFlight)
	rc.mu.Unlock()
	time.Sleep(hold)
	rc.mu.Lock()
	rc.inFlight--
	rc.mu.Unlock()
	w.WriteHeader(status)
}

func (rc *countingReceiver) counts() (byDelivery map[string]int, peak int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int, len(rc.byDelivery))
	for k, v := range rc.byDelivery {
		out[k] = v
	}
	return out, rc.peak
}

func newDeliveryEnv(t *testing.T, schedule hooks.Schedule, answer func(eventID string) (int, time.Duration)) *deliveryEnv {
	t.Helper()
	return newDeliveryEnvOn(t, schedule, answer, func(d dbtest.Database) *db.DB { return d.DB })
}

// newDeliveryEnvOn is newDeliveryEnv with the delivery engine on the
// database that via opens onto the test's (through a proxy, say).
func newDeliveryEnvOn(t *testing.T, schedule hooks.Schedule, answer func(eventID string) (int, time.Duration), via func(dbtest.Database) *db.DB) *deliveryEnv {
	t.Helper()
	r, d, ring, conns := openServices(t)
	c := newClient(t, r)
	svc, err := hooks.New(hooks.Options{DB: via(d), Redis: r.UniversalClient, Ring: ring, Sender: conns, Queue: c, Log: testLogger(t), Schedule: schedule})
	require.NoError(t, err)

	rc := &countingReceiver{answer: answer, byDelivery: map[string]int{}}
	rc.Server = httptest.NewServer(rc)
	t.Cleanup(rc.Close)
	u, types := rc.URL, []string{"order.*"}
	_, err = svc.CreateWebhook(context.Background(), hooks.WebhookInput{URL: &u, EventTypes: &types})
	require.NoError(t, err)
	return &deliveryEnv{r: r, db: d, client: c, hooks: svc, recv: rc}
}

// ingest takes n events order.0 … order.n-1 and returns their deliveries
// in order (one each).
func (e *deliveryEnv) ingest(t *testing.T, n int) []string {
	t.Helper()
	in := make([]hooks.EventInput, n)
	for i := range in {
		in[i] = hooks.EventInput{ID: fmt.Sprintf("order.%d", i), Type: "order.paid"}
	}
	items, err := e.hooks.IngestBatch(context.Background(), in)
	require.NoError(t, err)
	ids := make([]string, n)
	for i, it := range items {
		require.NotNil(t, it.Accepted, "event %d: %v", i, it.Errors)
		require.Len(t, it.Deliveries, 1)
		ids[i] = it.Deliveries[0]
	}
	return ids
}

// batches are the deliveries' batch ids, each with its deliveries.
func (e *deliveryEnv) batches(t *testing.T, ids []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, id := range ids {
		var batch string
		require.NoError(t, e.db.QueryRowContext(context.Background(), `SELECT batch_id FROM deliveries WHERE id = $1`, id).Scan(&batch))
		out[batch] = append(out[batch], id)
	}
	return out
}

// batchOf is the batch that carried a delivery's first attempt.
func (e *deliveryEnv) batchOf(t *testing.T, id string) string {
	t.Helper()
	for batch, ids := range e.batches(t, []string{id}) {
		require.Equal(t, []string{id}, ids)
		return batch
	}
	return ""
}

func (e *deliveryEnv) startWorker(t *testing.T, deliveries int) *Worker {
	t.Helper()
	w, err := NewWorker(WorkerOptions{Redis: e.r, Deps: Deps{Hooks: e.hooks, Client: e.client}, Log: testLogger(t),
		DeliveryConcurrency: deliveries, Concurrency: 2, ShutdownTimeout: 5 * time.Second})
	require.NoError(t, err)
	require.NoError(t, w.Start())
	t.Cleanup(w.Shutdown)
	return w
}

// taskState is the state asynq keeps for a task id on the default queue,
// "" when there is no such task.
func (e *deliveryEnv) taskState(t *testing.T, id string) string {
	t.Helper()
	info, err := e.client.ins.GetTaskInfo(QueueDefault, id)
	if err != nil {
		require.ErrorIs(t, err, asynq.ErrTaskNotFound)
		return ""
	}
	return info.State.String()
}

// waitGone waits until a task has left the queue.
func (e *deliveryEnv) waitGone(t *testing.T, id string) {
	t.Helper()
	require.Eventually(t, func() bool { return e.taskState(t, id) == "" }, 5*time.Second, 10*time.Millisecond, "task %s is still on the queue", id)
}

func (e *deliveryEnv) waitStatus(t *testing.T, id, status string) hooks.Delivery {
	t.Helper()
	var d hooks.Delivery
	require.Eventually(t, func() bool {
		var err error
		d, err = e.hooks.Delivery(context.Background(), id)
		require.NoError(t, err)
		return d.Status == status
	}, 15*time.Second, 10*time.Millisecond, "delivery %s never became %s", id, status)
	return d
}

func answerAll(status int) func(string) (int, time.Duration) {
	return func(string) (int, time.Duration) { return status, 0 }
}

func TestFirstAttemptsTravelInBatches(t *testing.T) {
	t.Parallel()
	e := newDeliveryEnv(t, hooks.Schedule{0, time.Hour}, answerAll(http.StatusNoContent))
	ids := e.ingest(t, 130)

	// 130 new deliveries: three batch tasks of as even a size as can be,
	// each on the queue under its batch id, none queued alone.
	batches := e.batches(t, ids)
	require.Len(t, batches, 3)
	var sizes []int
	for batch, members := range batches {
		require.Regexp(t, `^dlb_[0-9a-f]{24}$`, batch)
		require.Equal(t, "pending", e.taskState(t, batch))
		sizes = append(sizes, len(members))
	}
	require.ElementsMatch(t, []int{44, 43, 43}, sizes)
	for _, id := range ids {
		require.Empty(t, e.taskState(t, id), "delivery %s is not queued alone", id)
	}

	e.startWorker(t, 20)
	for _, id := range ids {
		d := e.waitStatus(t, id, "succeeded")
		require.Equal(t, 1, d.AttemptCount)
	}
	got, _ := e.recv.counts()
	require.Len(t, got, 130)
	for _, id := range ids {
		require.Equal(t, 1, got[id], "delivery %s sent once, under its own webhook-id", id)
	}
	require.Eventually(t, func() bool {
		for batch := range batches {
			if e.taskState(t, batch) != "" {
				return false
			}
		}
		return true
	}, 5*time.Second, 10*time.Millisecond, "a batch that ran leaves the queue")
}

func TestEventsArrivingTogetherShareATransaction(t *testing.T) {
	t.Parallel()
	e := newDeliveryEnv(t, hooks.Schedule{0, time.Hour}, answerAll(http.StatusNoContent))
	ctx := context.Background()

	// Hold the database back, as a slow disk would, while 150 requests of
	// one event each and 30 repeats arrive: the first intakes wait for it,
	// and the rest gather behind them into shared transactions.
	hold, err := e.db.BeginTx(ctx, nil) // SQLite: takes the write lock
	require.NoError(t, err)
	if e.db.Dialect == db.Postgres {
		_, err = hold.ExecContext(ctx, `LOCK TABLE events IN EXCLUSIVE MODE`)
		require.NoError(t, err)
	}
	const n, repeats = 150, 30
	answers := make([]hooks.Accepted, n+repeats)
	errs := make([]error, n+repeats)
	var wg sync.WaitGroup
	for i := range n + repeats {
		wg.Go(func() {
			answers[i], errs[i] = e.hooks.Ingest(ctx, hooks.EventInput{ID: fmt.Sprintf("order.%d", i%n), Type: "order.paid"})
		})
	}
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, hold.Rollback())
	wg.Wait()

	// Each event is taken once: one answer per id has its delivery, every
	// other says it is a repeat (with the same delivery, when it came in
	// the same transaction).
	delivery := map[string]string{}
	for i, a := range answers {
		require.NoError(t, errs[i])
		if !a.Duplicate {
			require.Len(t, a.Deliveries, 1)
			require.Empty(t, delivery[a.ID], "event %s taken twice", a.ID)
			delivery[a.ID] = a.Deliveries[0]
		}
	}
	require.Len(t, delivery, n)
	ids := make([]string, 0, n)
	for _, a := range answers {
		if a.Duplicate && len(a.Deliveries) > 0 {
			require.Equal(t, []string{delivery[a.ID]}, a.Deliveries)
		}
	}
	for _, id := range delivery {
		ids = append(ids, id)
	}
	// Stored together, queued together: far fewer batches than requests
	// (each request alone would have made a batch of one).
	require.Less(t, len(e.batches(t, ids)), 40)

	e.startWorker(t, 20)
	for _, id := range ids {
		e.waitStatus(t, id, "succeeded")
	}
	got, _ := e.recv.counts()
	require.Len(t, got, n)
	for _, id := range ids {
		require.Equal(t, 1, got[id], "delivery %s sent once", id)
	}
}

func TestBatchRunAgainSendsNothingTwice(t *testing.T) {
	t.Parallel()
	// order.1 fails and waits an hour for its next attempt.
	e := newDeliveryEnv(t, hooks.Schedule{0, time.Hour}, func(id string) (int, time.Duration) {
		if id == "order.1" {
			return http.StatusServiceUnavailable, 0
		}
		return http.StatusNoContent, 0
	})
	ids := e.ingest(t, 3)
	batches := e.batches(t, ids)
	require.Len(t, batches, 1)
	e.startWorker(t, 10)
	e.waitStatus(t, ids[0], "succeeded")
	e.waitStatus(t, ids[2], "succeeded")
	retrying := e.waitStatus(t, ids[1], "retrying")
	require.Equal(t, 1, retrying.AttemptCount)
	require.Eventually(t, func() bool { return e.taskState(t, ids[1]) == "scheduled" }, 5*time.Second, 10*time.Millisecond,
		"the batch handed the failed delivery on to a task of its own, due in an hour")

	// The batch runs again, as after a worker died before asynq heard it
	// end: it finds every delivery past its first attempt and sends none.
	for batch, members := range batches {
		require.NoError(t, e.client.EnqueueBatch(context.Background(), batch, members))
		e.waitGone(t, batch)
	}
	got, _ := e.recv.counts()
	require.Equal(t, map[string]int{ids[0]: 1, ids[1]: 1, ids[2]: 1}, got)
	d, err := e.hooks.Delivery(context.Background(), ids[1])
	require.NoError(t, err)
	require.Equal(t, "retrying", d.Status)
	require.Equal(t, 1, d.AttemptCount, "its next attempt waits for its time")
	require.Equal(t, "scheduled", e.taskState(t, ids[1]))
}

func TestSweepPutsFirstAttemptsBackInTheirBatch(t *testing.T) {
	t.Parallel()
	e := newDeliveryEnv(t, hooks.Schedule{0}, answerAll(http.StatusNoContent))
	ctx := context.Background()
	ids := e.ingest(t, 3)
	batches := e.batches(t, ids)
	require.Len(t, batches, 1)
	var batch string
	for b := range batches {
		batch = b
	}
	repeat := func() {
		items, err := e.hooks.IngestBatch(ctx, []hooks.EventInput{{ID: "order.0", Type: "order.paid"}, {ID: "order.2", Type: "order.paid"}})
		require.NoError(t, err)
		for _, it := range items {
			require.True(t, it.Duplicate)
		}
	}

	// No worker yet: the batch waits on the queue. The sweep and the same
	// events again find it there and queue nothing beside it.
	n, err := e.hooks.Sweep(ctx, -time.Hour)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	repeat()
	require.Equal(t, "pending", e.taskState(t, batch))
	for _, id := range ids {
		require.Empty(t, e.taskState(t, id), "delivery %s is not queued alone beside its batch", id)
	}

	// The batch is lost (Redis emptied, say): a repeated event puts its
	// deliveries back in it, and so does the sweep; still none alone.
	require.NoError(t, e.client.ins.DeleteTask(QueueDefault, batch))
	repeat()
	require.Equal(t, "pending", e.taskState(t, batch))
	require.NoError(t, e.client.ins.DeleteTask(QueueDefault, batch))
	n, err = e.hooks.Sweep(ctx, -time.Hour)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, "pending", e.taskState(t, batch))
	for _, id := range ids {
		require.Empty(t, e.taskState(t, id))
	}
	e.startWorker(t, 10)
	for _, id := range ids {
		e.waitStatus(t, id, "succeeded")
	}

	// The batch turns up once more (an intake that queues late): it finds
	// its deliveries past their first attempt and sends none of them.
	e.waitGone(t, batch)
	require.NoError(t, e.client.EnqueueBatch(ctx, batch, ids))
	e.waitGone(t, batch)
	got, _ := e.recv.counts()
	require.Equal(t, map[string]int{ids[0]: 1, ids[1]: 1, ids[2]: 1}, got)
}

func TestLeaveBatchTakesOnlyDeliveriesStillWaitingInIt(t *testing.T) {
	t.Parallel()
	e := newDeliveryEnv(t, hooks.Schedule{0}, answerAll(http.StatusNoContent))
	ctx := context.Background()
	ids := e.ingest(t, 3)
	var batch string
	for b := range e.batches(t, ids) {
		batch = b
	}
	left, err := e.hooks.LeaveBatch(ctx, "dlb_another", ids)
	require.NoError(t, err)
	require.Empty(t, left, "not that batch's")
	left, err = e.hooks.LeaveBatch(ctx, batch, ids[:2])
	require.NoError(t, err)
	require.ElementsMatch(t, ids[:2], left)
	require.Equal(t, map[string][]string{"": ids[:2], batch: ids[2:]}, e.batches(t, ids))
	left, err = e.hooks.LeaveBatch(ctx, batch, ids[:2])
	require.NoError(t, err)
	require.Empty(t, left, "taken once")

	// Out of the batch, they are not its to send: a run hands them on.
	require.NoError(t, e.client.EnqueueDeliveries(ctx, ids[:2]))
	e.startWorker(t, 10)
	for _, id := range ids {
		e.waitStatus(t, id, "succeeded")
	}
	e.waitGone(t, batch)
	got, _ := e.recv.counts()
	require.Equal(t, map[string]int{ids[0]: 1, ids[1]: 1, ids[2]: 1}, got)
	left, err = e.hooks.LeaveBatch(ctx, batch, ids[2:])
	require.NoError(t, err)
	require.Empty(t, left, "past its first attempt")
}

func TestStoppingWorkerHandsTheRestOfABatchBack(t *testing.T) {
	t.Parallel()
	e := newDeliveryEnv(t, hooks.Schedule{0}, func(string) (int, time.Duration) { return http.StatusNoContent, 100 * time.Millisecond })
	ids := e.ingest(t, 40) // one batch
	w := e.startWorker(t, 2)
	require.Eventually(t, func() bool {
		got, _ := e.recv.counts()
		return len(got) >= 4
	}, 10*time.Second, 5*time.Millisecond)

	// Stopping, the worker starts no more of the batch's deliveries; those
	// it started end, and the batch goes back to the queue with the rest.
	stopped := time.Now()
	w.Shutdown()
	require.Less(t, time.Since(stopped), time.Second, "a stop does not wait for the whole batch (2 s)")
	sent, _ := e.recv.counts()
	require.Less(t, len(sent), 40)
	batches := e.batches(t, ids)
	require.Len(t, batches, 1)
	for batch := range batches {
		require.Contains(t, []string{"pending", "retry"}, e.taskState(t, batch), "the batch is on the queue again")
	}
	for _, id := range ids {
		d, err := e.hooks.Delivery(context.Background(), id)
		require.NoError(t, err)
		if sent[id] > 0 {
			require.Equal(t, "succeeded", d.Status)
		} else {
			require.Equal(t, "pending", d.Status)
			require.Empty(t, e.taskState(t, id), "a delivery not yet sent stays with its batch")
		}
	}

	// The next worker sends the rest, each once.
	e.startWorker(t, 10)
	for _, id := range ids {
		e.waitStatus(t, id, "succeeded")
	}
	got, _ := e.recv.counts()
	require.Len(t, got, 40)
	for _, id := range ids {
		require.Equal(t, 1, got[id], "delivery %s sent once", id)
	}
}

func TestDeliveryConcurrencyHoldsForBatchesAndSingles(t *testing.T) {
	t.Parallel()
	// Every first attempt fails once (a retry, alone), then succeeds.
	var mu sync.Mutex
	seen := map[string]bool{}
	e := newDeliveryEnv(t, hooks.Schedule{0, 10 * time.Millisecond}, func(id string) (int, time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if !seen[id] {
			seen[id] = true
			return http.StatusInternalServerError, 30 * time.Millisecond
		}
		return http.StatusNoContent, 30 * time.Millisecond
	})
	ids := e.ingest(t, 40) // one batch of 40
	e.startWorker(t, 3)
	for _, id := range ids {
		d := e.waitStatus(t, id, "succeeded")
		require.Equal(t, 2, d.AttemptCount)
	}
	_, peak := e.recv.counts()
	require.Equal(t, 3, peak, "DELIVERY_CONCURRENCY 3: three requests at once, batch and retries together")
}

func TestDeliveryAloneWaitingForASlotGoesBackToTheQueue(t *testing.T) {
	// Not parallel: it shortens slotWait for the package.
	defer func(w time.Duration) { slotWait = w }(slotWait)
	slotWait = 100 * time.Millisecond
	e := newDeliveryEnv(t, hooks.Schedule{0}, answerAll(http.StatusNoContent))
	ids := e.ingest(t, 1)
	runs := newDeliveryRuns(1)
	require.True(t, runs.take(context.Background()), "a batch's delivery holds the one slot")
	handle := handleDelivery(e.hooks, runs)
	task, _ := NewDeliveryTask(ids[0])

	// With no slot free, the task goes back to the queue, due at once, and
	// not as a failure, instead of holding its task until its time limit.
	start := time.Now()
	err := handle.ProcessTask(context.Background(), task)
	require.GreaterOrEqual(t, time.Since(start), slotWait)
	require.Less(t, time.Since(start), 5*slotWait)
	require.Zero(t, retryDelay(1, err, task), "due at once")
	require.False(t, isFailure(err), "waiting for a slot is no failure")
	d, err := e.hooks.Delivery(context.Background(), ids[0])
	require.NoError(t, err)
	require.Zero(t, d.AttemptCount, "no attempt used")
	got, _ := e.recv.counts()
	require.Empty(t, got)

	// Once the slot is free, it is sent.
	runs.give()
	require.NoError(t, handle.ProcessTask(context.Background(), task))
	got, _ = e.recv.counts()
	require.Equal(t, map[string]int{ids[0]: 1}, got)
}
