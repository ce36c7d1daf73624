package jobs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
)

// A target may hold a quarter of a worker's slots (cmd/liaison's openHooks):
// hooks' own defaults, for a Service built without a worker's figures, are
// that quarter of this package's.
func TestTargetShareDefaultsAreAQuarterOfTheWorkers(t *testing.T) {
	t.Parallel()
	require.Equal(t, DefaultDeliveryConcurrency/4, hooks.DefaultTargetConcurrency)
	require.Equal(t, DefaultConcurrency/4, calls.DefaultTargetConcurrency)
}

// What a worker or scheduler cannot run without, or a negative figure, is
// refused when it is built, by the field's name.
func TestWorkerAndSchedulerOptionsAreChecked(t *testing.T) {
	t.Parallel()
	_, err := NewWorker(WorkerOptions{Concurrency: 4})
	require.ErrorContains(t, err, "jobs: worker: Options.Redis is required")
	_, err = NewWorker(WorkerOptions{Redis: &Redis{}, DeliveryPoll: -time.Millisecond})
	require.ErrorContains(t, err, "Options.DeliveryPoll is negative")
	_, err = NewScheduler(SchedulerOptions{Sources: []PeriodicSource{DeliveryHousekeeping{}}})
	require.ErrorContains(t, err, "jobs: scheduler: Options.Redis is required")
	_, err = NewScheduler(SchedulerOptions{Redis: &Redis{}, SyncInterval: -time.Second})
	require.ErrorContains(t, err, "Options.SyncInterval is negative")
}
