package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/internal/retry"
)

// Deliveries of action hooks and event webhooks.
//
// The first attempts of new deliveries travel in batches: intake queues
// one delivery:batch task per up to 64 of them (hooks.MaxDeliveryBatch),
// its id the batch id kept on each delivery, its payload their ids, and the
// worker runs a batch's deliveries side by side. A batch costs asynq what
// one task costs — a script to enqueue it, one to take it, one to end it —
// and per task, those scripts were most of a delivery's cost on Redis and
// a third of the worker's (figures: README, Performance).
//
// Everything after a first attempt is a delivery:send task of the
// delivery's own, its id the delivery id, so a delivery is never queued
// alone twice; its payload is the id. A batch hands on to such a task
// every delivery whose first attempt is behind it (a retry) or that waits
// (a postponement); one still without an attempt stays with the batch.
// hooks keeps the attempt count and the schedule in its store; asynq is
// only the timer: the handler returns the *retry.Later carrying the wait
// hooks asked for, and retryDelay hands it to asynq.
const (
	TypeDeliverySend  = "delivery:send"
	TypeDeliveryBatch = "delivery:batch"
	TypeDeliverySweep = "delivery:sweep"
	TypeDeliveryClean = "delivery:clean"
)

// deliveryMaxRetry is far above any schedule (at most 100 attempts) plus
// the runs that infrastructure errors cost, so asynq's cap never archives
// a delivery that hooks still wants to try. Postponements do not count:
// IsFailure is false for them, and asynq counts only failures.
const deliveryMaxRetry = 1_000_000

// deliveryTimeout bounds one run: the longest hook timeout (120 s) plus the
// bookkeeping around it.
const deliveryTimeout = 3 * time.Minute

// batchTimeout bounds one run of a batch, as asynq's timeout: its
// deliveries share the worker's DELIVERY_CONCURRENCY slots with everything
// else it sends. A run stops starting deliveries after batchStartWithin,
// which leaves the last ones started time to end within it.
const batchTimeout = 15 * time.Minute

// batchTries is how many runs of a batch in a row may fail to judge a
// delivery (the database is down, a bug) before the run takes it out of
// the batch and queues it alone: it then retries on its own schedule, and
// the batch ends instead of loading all its deliveries again each time.
const batchTries = 3

// NewDeliveryTask makes the task of a delivery alone.
func NewDeliveryTask(id string) (*asynq.Task, []asynq.Option) {
	return asynq.NewTask(TypeDeliverySend, []byte(id)), []asynq.Option{
		asynq.TaskID(id), asynq.Queue(QueueDefault), asynq.MaxRetry(deliveryMaxRetry), asynq.Timeout(deliveryTimeout),
	}
}

// NewDeliveryBatchTask makes the task of a batch of first attempts.
func NewDeliveryBatchTask(batch string, ids []string) (*asynq.Task, []asynq.Option) {
	return asynq.NewTask(TypeDeliveryBatch, []byte(strings.Join(ids, "\n"))), []asynq.Option{
		asynq.TaskID(batch), asynq.Queue(QueueDefault), asynq.MaxRetry(deliveryMaxRetry), asynq.Timeout(batchTimeout),
	}
}

// wholeSeconds is a wait of a second or more rounded up so that it ends on
// a whole second, as asynq keeps the time of a task that waits.
//
// asynq keeps a retry's time in whole unix seconds, so a wait of 1.4 s may
// end after 0.4 s. A delivery's or call's wait of a second or more (a
// Retry-After, a step of the schedule) is rounded up to the next whole
// second so it never ends early (retryDelay, enqueueAlone); shorter waits
// (limits, test schedules) mean "soon" and are left alone.
func wholeSeconds(d time.Duration) time.Duration {
	if d < time.Second {
		return d
	}
	at := time.Now().Add(d)
	if frac := time.Duration(at.Nanosecond()); frac > 0 {
		return d + time.Second - frac
	}
	return d
}

// deliveryRuns is what a worker's delivery handlers share: the slots that
// bound how many deliveries run at once, alone and in batches together
// (WorkerOptions.DeliveryConcurrency), and the signal that the worker is
// stopping.
type deliveryRuns struct {
	free     chan struct{}
	stopping context.Context // done when the worker stops
	stop     context.CancelFunc
}

func newDeliveryRuns(concurrency int) *deliveryRuns {
	r := &deliveryRuns{free: make(chan struct{}, concurrency)}
	r.stopping, r.stop = context.WithCancel(context.Background())
	return r
}

// take waits for a slot; false if ctx ended or the worker began to stop
// first (a slot that frees up at the same moment is given back).
func (r *deliveryRuns) take(ctx context.Context) bool {
	select {
	case r.free <- struct{}{}:
		if ctx.Err() != nil || r.stopping.Err() != nil {
			r.give()
			return false
		}
		return true
	case <-ctx.Done():
		return false
	case <-r.stopping.Done():
		return false
	}
}

func (r *deliveryRuns) give() { <-r.free }

// slotWait is how long a delivery alone waits for a slot (all taken by
// batches of a backlog, say) before it goes back to the queue, due at once,
// rather than spend its task's time limit waiting and count as a failure.
var slotWait = time.Minute // a variable for tests

func handleDelivery(svc *hooks.Service, runs *deliveryRuns) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		wait, cancel := context.WithTimeout(ctx, slotWait)
		took := runs.take(wait)
		cancel()
		if !took {
			if err := ctx.Err(); err != nil {
				return err
			}
			// The worker stops, or no slot came free: back to the queue.
			return &retry.Later{Reason: "no delivery slot came free"}
		}
		defer runs.give()
		return svc.Deliver(ctx, string(t.Payload()))
	}
}

// batchStartWithin is how long a run of a batch goes on starting its
// deliveries, which wait for slots shared with everything else the worker
// sends; batchTimeout leaves the last ones started time to end.
const batchStartWithin = 10 * time.Minute

// handleDeliveryBatch makes the first attempts of a batch side by side,
// each in a slot, and hands every delivery that is not done (a retry, a
// postponement) on to a task of its own, due when the delivery is, as soon
// as its attempt ends.
//
// A delivery still without an attempt stays with the batch: it is never
// handed on, so it cannot be sent both by a task of its own and by a later
// run of the batch. A run that stops starting deliveries (the worker stops,
// or batchStartWithin passed) ends asking asynq to run the batch again at
// once, without counting a failure; one that could not judge a delivery
// (the database is down) ends with that error, and asynq runs the batch
// again after a while, up to batchTries times before those deliveries go
// on alone (LeaveBatch). Either way the next run sends what is left: the
// deliveries this run got to are past their first attempt by then, and only
// handed on again, which a task already queued ignores. A run that dies
// with its worker is run again by asynq when its lease expires, the same.
func handleDeliveryBatch(svc *hooks.Service, c *Client, runs *deliveryRuns, log *slog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		ids := strings.Split(string(t.Payload()), "\n")
		batch, _ := asynq.GetTaskID(ctx)
		starting, cancel := context.WithTimeout(ctx, batchStartWithin)
		defer cancel()

		var (
			mu                sync.Mutex
			judgeErr, handErr error // the first of each
			unjudged          []string
			wg                sync.WaitGroup
		)
		first := func(dst *error, err error) {
			mu.Lock()
			defer mu.Unlock()
			if *dst == nil {
				*dst = err
			}
		}
		started := 0
		for _, id := range ids {
			if !runs.take(starting) {
				break
			}
			started++
			wg.Go(func() {
				defer runs.give()
				err := deliverFirst(ctx, svc, batch, id, log)
				later, again := errors.AsType[*retry.Later](err)
				switch {
				case again:
					// Handed on even if the run's context has ended: a retry
					// must not wait for the batch to run again.
					if err := c.enqueueAlone(context.WithoutCancel(ctx), []waiting{{id: id, in: later.After}}); err != nil {
						first(&handErr, err)
					}
				case err != nil:
					// Still without an attempt: the next run tries it.
					first(&judgeErr, err)
					mu.Lock()
					unjudged = append(unjudged, id)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if tried, _ := asynq.GetRetryCount(ctx); len(unjudged) > 0 && tried+1 >= batchTries {
			bg := context.WithoutCancel(ctx)
			left, err := svc.LeaveBatch(bg, batch, unjudged)
			if err == nil {
				err = c.EnqueueDeliveries(bg, left)
			}
			if err != nil {
				return errors.Join(judgeErr, handErr, err)
			}
			log.Warn("deliveries left their batch after failing in every run", "batch_id", batch, "count", len(left), "error", judgeErr)
			judgeErr = nil
		}
		if err := errors.Join(judgeErr, handErr); err != nil {
			return err
		}
		if started < len(ids) {
			return &retry.Later{Reason: "the batch stopped starting deliveries"}
		}
		return nil
	}
}

// deliverFirst is svc.DeliverFirst, with a panic (a bug) turned into the
// delivery's error, as asynq does for a task: it fails the batch's run,
// not the worker, and the batch runs again after a while.
func deliverFirst(ctx context.Context, svc *hooks.Service, batch, id string, log *slog.Logger) (err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("delivery panicked", "delivery_id", id, "batch_id", batch, "panic", fmt.Sprint(p))
			err = fmt.Errorf("delivery %s panicked: %v", id, p)
		}
	}()
	return svc.DeliverFirst(ctx, batch, id)
}

// deliveryRetryDelay is the wait of a delivery or call task that failed
// without saying when to come back: none when its worker died (asynq's
// lease expired; the delivery was under way and is due), otherwise 1 s,
// 2 s, 4 s, then every infraRetryMax.
//
// Such a task could not even be judged: the database or Redis did not
// answer (every outcome of a request itself comes back as a *retry.Later
// with hooks' schedule), so the wait is only how soon to look whether
// they are back. asynq's default (15–45 s for the first retry, then
// growing) capped at a minute, as before, left a task that failed while
// PostgreSQL was down waiting up to a minute after it came back; with
// infraRetryMax every such task runs again within 5 s of its return. A
// task that keeps failing for another reason (a bug) costs a run every
// 5 s and a WARN line each time, which is loud rather than expensive.
func deliveryRetryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		return 0
	}
	return min(time.Second<<min(max(n, 0), 3), infraRetryMax)
}

// infraRetryMax is the longest wait of a task that failed because a
// backend did not answer: the most a delivery or call waits once the
// database is back.
const infraRetryMax = 5 * time.Second

// enqueueConcurrency bounds the enqueues one EnqueueDeliveries call has in
// flight. asynq's Client has no batch form: each enqueue is one script run
// on Redis (its checks for an existing id and its writes, atomic), so the
// enqueues of many deliveries alone (a sweep, a replay) overlap their round
// trips instead of taking them one after the other, while most of the
// Redis pool (64) stays the worker's.
const enqueueConcurrency = 16

// EnqueueDeliveries queues deliveries to run now, each alone; those
// already queued alone are left as they are. It satisfies hooks.Queue.
func (c *Client) EnqueueDeliveries(ctx context.Context, ids []string) error {
	ws := make([]waiting, len(ids))
	for i, id := range ids {
		ws[i] = waiting{id: id}
	}
	return c.enqueueAlone(ctx, ws)
}

// waiting is a delivery to queue alone, to run in a while.
type waiting struct {
	id string
	in time.Duration
}

// enqueueAlone queues deliveries alone, each to run in its while; those
// already queued alone are left as they are.
func (c *Client) enqueueAlone(ctx context.Context, ws []waiting) error {
	enqueue := func(ctx context.Context, w waiting) error {
		t, opts := NewDeliveryTask(w.id)
		if w.in > 0 {
			opts = append(opts, asynq.ProcessIn(wholeSeconds(w.in)))
		}
		if _, err := c.Enqueue(ctx, t, opts...); err != nil && !errors.Is(err, ErrDuplicate) {
			return fmt.Errorf("queueing delivery %s: %w", w.id, err)
		}
		return nil
	}
	switch len(ws) {
	case 0:
		return nil
	case 1:
		return enqueue(ctx, ws[0])
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(enqueueConcurrency)
	for _, w := range ws {
		g.Go(func() error { return enqueue(gctx, w) })
	}
	return g.Wait()
}

// EnqueueBatch queues the first attempts of new deliveries as one task;
// a batch already queued is left as it is. It satisfies hooks.Queue.
func (c *Client) EnqueueBatch(ctx context.Context, batch string, ids []string) error {
	t, opts := NewDeliveryBatchTask(batch, ids)
	if _, err := c.Enqueue(ctx, t, opts...); err != nil && !errors.Is(err, ErrDuplicate) {
		return fmt.Errorf("queueing delivery batch %s: %w", batch, err)
	}
	return nil
}

// RunDeliveriesNow makes waiting deliveries (a retry, a postponement) run
// now, and queues those that are not queued. It satisfies hooks.Queue.
func (c *Client) RunDeliveriesNow(ctx context.Context, ids []string) error {
	return c.runNow(ctx, QueueDefault, ids, c.EnqueueDeliveries)
}

// activeWait bounds how long runNow waits, in all, for running tasks to
// start waiting.
const activeWait = 2 * time.Second

// runNow makes waiting tasks run now, and queues (with enqueue) those that
// are not queued. A pending task runs soon anyway. A running task cannot be
// moved, and it may be about to wait a long time: a postponement decided
// just before the wake (a connection found needing reauthorization a moment
// before it was reconnected). So runNow looks again until the task waits,
// and moves it then, or until activeWait has passed for the whole batch: a
// task running for longer is really sending.
func (c *Client) runNow(ctx context.Context, queue string, ids []string, enqueue func(context.Context, []string) error) error {
	deadline := time.Now().Add(activeWait)
	for _, id := range ids {
		for {
			err := c.ins.RunTask(queue, id)
			if err == nil {
				break
			}
			if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
				if err := enqueue(ctx, []string{id}); err != nil {
					return err
				}
				break
			}
			info, ierr := c.ins.GetTaskInfo(queue, id)
			if ierr == nil && info.State != asynq.TaskStateActive {
				break // pending: it runs soon anyway
			}
			if ierr != nil && !errors.Is(ierr, asynq.ErrTaskNotFound) {
				return fmt.Errorf("jobs: reading task %s: %w", id, c.checkRedis(ctx, ierr))
			}
			if time.Now().After(deadline) {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return nil
}

var _ hooks.Queue = (*Client)(nil)

// DeliveryHousekeeping is the periodic-task source of deliveries: a sweep
// every SweepEvery that queues deliveries that should be queued and are
// not, and retention every hour.
type DeliveryHousekeeping struct{}

// SweepEvery is how often the sweeps of deliveries and calls run, and
// sweepGrace how long a delivery or call must have been due before a
// sweep queues it again. Together they bound how long one that lost its
// task waits: the web process could not queue it (Redis was down for a
// moment), or Redis lost every queued task (a restart without
// persistence). A minute and a minute before, so such a delivery waited
// up to two minutes; now 10 s at most (figures: README, Performance).
//
// What it costs: a sweep reads, on the deliveries_status index, only
// deliveries that are due and unfinished, a few in a steady state, and
// queueing one that is still queued is one script that Redis refuses (the
// task id is taken), so the grace only keeps a sweep from trying to queue
// again what is moving anyway. Behind a backlog (or after Redis lost
// everything) a sweep reads up to hooks.SweepLimit of them, a page of 1,000
// at a time, and tries them again: for deliveries still in their batch a
// script per batch of up to 64, so at most a few hundred scripts every 5 s
// against the thousands a second the deliveries themselves make.
const (
	SweepEvery = 5 * time.Second
	sweepGrace = 5 * time.Second
)

// PeriodicTasks lists the two tasks. asynq.Unique keeps a second scheduler
// (which nobody should run) from doubling them.
func (DeliveryHousekeeping) PeriodicTasks() ([]*asynq.PeriodicTaskConfig, error) {
	return []*asynq.PeriodicTaskConfig{
		{Cronspec: "@every " + SweepEvery.String(), Task: asynq.NewTask(TypeDeliverySweep, nil), Opts: []asynq.Option{asynq.Queue(QueueLow), asynq.Unique(SweepEvery), asynq.MaxRetry(0)}},
		{Cronspec: "@every 1h", Task: asynq.NewTask(TypeDeliveryClean, nil), Opts: []asynq.Option{asynq.Queue(QueueLow), asynq.Unique(time.Hour), asynq.MaxRetry(1)}},
	}, nil
}

func handleDeliverySweep(svc *hooks.Service) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		_, err := svc.Sweep(ctx, sweepGrace)
		return err
	}
}

func handleDeliveryClean(svc *hooks.Service) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		_, _, err := svc.Clean(ctx)
		return err
	}
}
