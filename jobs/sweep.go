package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// sweep is a periodic clean-up task of typ, enqueued every period: low
// queue, no retry (the next period's sweep is the retry), unique for just
// under a period so that a slow sweep does not pile up behind itself.
type sweep struct {
	typ     string
	every   time.Duration
	timeout time.Duration
}

// task is the sweep's task and its options.
func (s sweep) task() (*asynq.Task, []asynq.Option) {
	return asynq.NewTask(s.typ, nil), []asynq.Option{
		asynq.Queue(QueueLow), asynq.MaxRetry(0), asynq.Timeout(s.timeout), asynq.Unique(s.every - time.Second),
	}
}

// periodic is the sweep as the scheduler's one periodic task.
func (s sweep) periodic() []*asynq.PeriodicTaskConfig {
	t, opts := s.task()
	return []*asynq.PeriodicTaskConfig{{Cronspec: "@every " + s.every.String(), Task: t, Opts: opts}}
}

// handleSweep runs run, saying what failed to sweep.
func handleSweep(what string, run func(context.Context) error) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		if err := run(ctx); err != nil {
			return fmt.Errorf("sweeping %s: %w", what, err)
		}
		return nil
	}
}
