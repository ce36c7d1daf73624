package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/liaison/liaison/connections"
)

// TypeConnectionsSweep refreshes OAuth tokens that expire within ten
// minutes, so that calls rarely wait for a refresh. The scheduler enqueues
// it every minute (ConnectionsSweepSource).
const TypeConnectionsSweep = "connections:sweep"

// sweepEvery is the sweep's period; Unique keeps a slow sweep from piling
// up behind itself.
const sweepEvery = time.Minute

// NewSweepTask makes a sweep task: low queue, no retry (the next minute's
// sweep is the retry), unique for just under a period.
func NewSweepTask() (*asynq.Task, []asynq.Option) {
	return asynq.NewTask(TypeConnectionsSweep, nil), []asynq.Option{
		asynq.Queue(QueueLow), asynq.MaxRetry(0),
		asynq.Timeout(sweepEvery - 5*time.Second), asynq.Unique(sweepEvery - time.Second),
	}
}

func handleConnectionsSweep(svc *connections.Service) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		if err := svc.Sweep(ctx); err != nil {
			return fmt.Errorf("sweeping connection tokens: %w", err)
		}
		return nil
	}
}

// ConnectionsSweepSource is the periodic source of the token sweep.
type ConnectionsSweepSource struct{}

var _ PeriodicSource = ConnectionsSweepSource{}

// PeriodicTasks returns the sweep, every minute.
func (ConnectionsSweepSource) PeriodicTasks() ([]*asynq.PeriodicTaskConfig, error) {
	t, opts := NewSweepTask()
	return []*asynq.PeriodicTaskConfig{{Cronspec: "@every 1m", Task: t, Opts: opts}}, nil
}
