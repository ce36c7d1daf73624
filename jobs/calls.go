package jobs

import (
	"context"
	"time"

	"github.com/hibiken/asynq"

	"github.com/liaison/liaison/hooks/calls"
)

// API calls. As with a delivery alone, the task id is the call id and the
// payload is the id alone; calls keeps the attempts and the schedule in its
// store, and asynq is only the timer (a *retry.Later, retryDelay). Calls go on
// the critical queue: a scenario step may be waiting for the answer, while
// deliveries, on the default queue, are notifications.
const (
	TypeCallSend  = "call:send"
	TypeCallSweep = "call:sweep"
	TypeCallClean = "call:clean"
)

// NewCallTask makes the task of an API call. MaxRetry and Timeout are the
// deliveries': the schedule is calls', and one attempt is bounded by the
// longest request timeout (120 s) plus bookkeeping.
func NewCallTask(id string) (*asynq.Task, []asynq.Option) {
	return asynq.NewTask(TypeCallSend, []byte(id)), []asynq.Option{
		asynq.TaskID(id), asynq.Queue(QueueCritical), asynq.MaxRetry(deliveryMaxRetry), asynq.Timeout(deliveryTimeout),
	}
}

func handleCall(svc *calls.Service) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		return svc.Run(ctx, string(t.Payload()))
	}
}

// EnqueueCalls queues calls to run now; those already queued are left as
// they are. It satisfies calls.Queue.
func (c *Client) EnqueueCalls(ctx context.Context, ids []string) error {
	return c.enqueueEach(ctx, "call", ids, NewCallTask)
}

// RunCallsNow makes waiting calls (a retry, a postponement) run now, and
// queues those that are not queued. It satisfies calls.Queue.
func (c *Client) RunCallsNow(ctx context.Context, ids []string) error {
	return c.runNow(ctx, QueueCritical, ids, c.EnqueueCalls)
}

var _ calls.Queue = (*Client)(nil)

// CallHousekeeping is the periodic-task source of API calls: a sweep every
// SweepEvery (as the deliveries') that queues calls that should be queued and are not, and
// retention (CALL_RETENTION) every hour.
type CallHousekeeping struct{}

// PeriodicTasks lists the two tasks.
func (CallHousekeeping) PeriodicTasks() ([]*asynq.PeriodicTaskConfig, error) {
	return []*asynq.PeriodicTaskConfig{
		{Cronspec: "@every " + SweepEvery.String(), Task: asynq.NewTask(TypeCallSweep, nil), Opts: []asynq.Option{asynq.Queue(QueueLow), asynq.Unique(SweepEvery), asynq.MaxRetry(0)}},
		{Cronspec: "@every 1h", Task: asynq.NewTask(TypeCallClean, nil), Opts: []asynq.Option{asynq.Queue(QueueLow), asynq.Unique(time.Hour), asynq.MaxRetry(1)}},
	}, nil
}

func handleCallSweep(svc *calls.Service) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		_, err := svc.Sweep(ctx, sweepGrace)
		return err
	}
}

func handleCallClean(svc *calls.Service) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		_, err := svc.Clean(ctx)
		return err
	}
}
