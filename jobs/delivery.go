package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"

	"github.com/liaison/liaison/hooks"
)

// Deliveries of action hooks and event webhooks. The task id is the
// delivery id, so a delivery is never queued twice; the payload is the id
// alone. hooks keeps the attempt count and the schedule in its store;
// asynq is only the timer: the handler returns an *againError carrying the
// wait hooks asked for, and retryDelay hands it to asynq.
const (
	TypeDeliverySend  = "delivery:send"
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

// NewDeliveryTask makes the task of a delivery.
func NewDeliveryTask(id string) (*asynq.Task, []asynq.Option) {
	return asynq.NewTask(TypeDeliverySend, []byte(id)), []asynq.Option{
		asynq.TaskID(id), asynq.Queue(QueueDefault), asynq.MaxRetry(deliveryMaxRetry), asynq.Timeout(deliveryTimeout),
	}
}

// againError asks asynq to run the task again after delay.
type againError struct {
	delay time.Duration
	// postponed: not a failure (a limit, a connection to reconnect).
	postponed bool
}

// RetryAfter and Postponed are what the worker's RetryDelayFunc and
// IsFailure read (queue.go).
//
// asynq keeps a retry's time in whole unix seconds, so a wait of 1.4 s may
// end after 0.4 s. A wait of a second or more (a Retry-After, a step of the
// schedule) is rounded up to the next whole second so it never ends early;
// shorter waits (limits, test schedules) mean "soon" and are left alone.
func (e *againError) RetryAfter() time.Duration {
	if e.delay < time.Second {
		return e.delay
	}
	at := time.Now().Add(e.delay)
	if frac := time.Duration(at.Nanosecond()); frac > 0 {
		return e.delay + time.Second - frac
	}
	return e.delay
}
func (e *againError) Postponed() bool { return e.postponed }

func (e *againError) Error() string {
	if e.postponed {
		return "postponed for " + e.delay.String()
	}
	return "attempt failed; next in " + e.delay.String()
}

func handleDelivery(svc *hooks.Service) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		res, err := svc.Deliver(ctx, string(t.Payload()))
		if err != nil {
			return err
		}
		if res.Done {
			return nil
		}
		return &againError{delay: res.Again, postponed: res.Postponed}
	}
}

// deliveryRetryDelay is the wait of a delivery task that failed without
// saying when to come back: none when its worker died (asynq's lease
// expired; the delivery was under way and is due), asynq's default capped
// at a minute otherwise, so that a database outage does not push
// deliveries back by hours.
func deliveryRetryDelay(n int, err error, t *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		return 0
	}
	return min(asynq.DefaultRetryDelayFunc(n, err, t), time.Minute)
}

// enqueueConcurrency bounds the enqueues one EnqueueDeliveries call has in
// flight. asynq's Client has no batch form: each enqueue is one script run
// on Redis (its checks for an existing id and its writes, atomic), so a
// batch's enqueues overlap their round trips instead of taking them one
// after the other. 16 keeps a 1,000-event batch to about 60 round trips'
// time and leaves most of the Redis pool (64) to the worker.
const enqueueConcurrency = 16

// EnqueueDeliveries queues deliveries to run now; those already queued are
// left as they are. It satisfies hooks.Queue.
func (c *Client) EnqueueDeliveries(ctx context.Context, ids []string) error {
	enqueue := func(ctx context.Context, id string) error {
		t, opts := NewDeliveryTask(id)
		if _, err := c.Enqueue(ctx, t, opts...); err != nil && !errors.Is(err, ErrDuplicate) {
			return fmt.Errorf("queueing delivery %s: %w", id, err)
		}
		return nil
	}
	if len(ids) == 1 {
		return enqueue(ctx, ids[0])
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(enqueueConcurrency)
	for _, id := range ids {
		g.Go(func() error { return enqueue(gctx, id) })
	}
	return g.Wait()
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
				return fmt.Errorf("jobs: reading task %s: %w", id, ierr)
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
// every minute that queues deliveries that should be queued and are not
// (the web process stopped between storing an event and queueing it), and
// retention every hour.
type DeliveryHousekeeping struct{}

// PeriodicTasks lists the two tasks. asynq.Unique keeps a second scheduler
// (which nobody should run) from doubling them.
func (DeliveryHousekeeping) PeriodicTasks() ([]*asynq.PeriodicTaskConfig, error) {
	return []*asynq.PeriodicTaskConfig{
		{Cronspec: "@every 1m", Task: asynq.NewTask(TypeDeliverySweep, nil), Opts: []asynq.Option{asynq.Queue(QueueLow), asynq.Unique(time.Minute), asynq.MaxRetry(0)}},
		{Cronspec: "@every 1h", Task: asynq.NewTask(TypeDeliveryClean, nil), Opts: []asynq.Option{asynq.Queue(QueueLow), asynq.Unique(time.Hour), asynq.MaxRetry(1)}},
	}, nil
}

func handleDeliverySweep(svc *hooks.Service) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		_, err := svc.Sweep(ctx, time.Minute)
		return err
	}
}

func handleDeliveryClean(svc *hooks.Service) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		_, _, err := svc.Clean(ctx)
		return err
	}
}
