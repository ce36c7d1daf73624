package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/liaison/liaison/internal/users"
)

// TypeUsersSweep deletes the web UI's ended sessions, expired or used
// one-time links and closed sign-in failure windows (users.Sweep). The
// scheduler enqueues it every hour (UsersSweepSource): nothing waits on
// it but the tables' size.
const TypeUsersSweep = "users:sweep"

// usersSweepEvery is the users sweep's period.
const usersSweepEvery = time.Hour

// NewUsersSweepTask makes a users sweep task: low queue, no retry (the
// next hour's sweep is the retry), unique for just under a period.
func NewUsersSweepTask() (*asynq.Task, []asynq.Option) {
	return asynq.NewTask(TypeUsersSweep, nil), []asynq.Option{
		asynq.Queue(QueueLow), asynq.MaxRetry(0),
		asynq.Timeout(5 * time.Minute), asynq.Unique(usersSweepEvery - time.Minute),
	}
}

func handleUsersSweep(svc *users.Service) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		if err := svc.Sweep(ctx); err != nil {
			return fmt.Errorf("sweeping users' sessions and links: %w", err)
		}
		return nil
	}
}

// UsersSweepSource is the periodic source of the users sweep.
type UsersSweepSource struct{}

var _ PeriodicSource = UsersSweepSource{}

// PeriodicTasks returns the users sweep, every hour.
func (UsersSweepSource) PeriodicTasks() ([]*asynq.PeriodicTaskConfig, error) {
	t, opts := NewUsersSweepTask()
	return []*asynq.PeriodicTaskConfig{{Cronspec: "@every " + usersSweepEvery.String(), Task: t, Opts: opts}}, nil
}
