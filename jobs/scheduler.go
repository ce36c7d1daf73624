package jobs

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/liaison/liaison/internal/invalid"
)

// PeriodicSource lists periodic tasks; the scheduler asks every source on
// each sync, so a source that reads the store (feed imports) has its
// changes picked up without a restart.
type PeriodicSource interface {
	PeriodicTasks() ([]*asynq.PeriodicTaskConfig, error)
}

// Scheduler enqueues periodic tasks. Run a single scheduler process (the
// Procfile does): asynq's scheduler elects no leader, so two of them would
// enqueue each periodic task twice. Sources whose tasks must not run twice
// guard them with asynq.Unique or a task id.
type Scheduler struct{ m *asynq.PeriodicTaskManager }

// SchedulerOptions configure the scheduler. Redis is required.
type SchedulerOptions struct {
	// Redis is the shared connection the scheduler enqueues on.
	Redis *Redis
	// Sources list the periodic tasks, read again every SyncInterval.
	Sources []PeriodicSource
	// Log gets the scheduler's lines and asynq's. Default: discard.
	Log *slog.Logger
	// SyncInterval is how often the sources are read again. Default
	// DefaultSyncInterval, 30 s.
	SyncInterval time.Duration
	// HeartbeatInterval is how often the scheduler publishes its entries
	// (what asynq's inspector and dashboards show). Default asynq's 10 s.
	HeartbeatInterval time.Duration
}

// DefaultSyncInterval is SchedulerOptions.SyncInterval: an edited schedule
// takes effect within a minute.
const DefaultSyncInterval = 30 * time.Second

// validate checks what is set: Redis, and no negative interval (zero
// means the default).
func (o SchedulerOptions) validate() error {
	if err := invalid.Required("jobs: scheduler", invalid.Need("Redis", o.Redis != nil)); err != nil {
		return err
	}
	return invalid.NotNegative("jobs: scheduler", []invalid.Setting[time.Duration]{
		invalid.Named("SyncInterval", o.SyncInterval), invalid.Named("HeartbeatInterval", o.HeartbeatInterval),
	})
}

// withDefaults fills what is unset; validate has refused what is negative.
func (o SchedulerOptions) withDefaults() SchedulerOptions {
	o.Log = orDiscard(o.Log)
	o.SyncInterval = cmp.Or(o.SyncInterval, DefaultSyncInterval)
	return o
}

// NewScheduler builds the periodic task manager over the sources.
func NewScheduler(opts SchedulerOptions) (*Scheduler, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	log := opts.Log.With("component", "scheduler")
	m, err := asynq.NewPeriodicTaskManager(asynq.PeriodicTaskManagerOpts{
		RedisUniversalClient:       opts.Redis.UniversalClient,
		PeriodicTaskConfigProvider: provider(opts.Sources),
		SyncInterval:               opts.SyncInterval,
		SchedulerOpts: &asynq.SchedulerOpts{
			Logger:            slogAdapter{log},
			LogLevel:          asynqLevel(log),
			Location:          time.UTC,
			HeartbeatInterval: opts.HeartbeatInterval,
			PostEnqueueFunc: func(info *asynq.TaskInfo, err error) {
				if err != nil {
					log.Warn("periodic task not enqueued", "error", err)
				}
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: building scheduler: %w", err)
	}
	return &Scheduler{m: m}, nil
}

type provider []PeriodicSource

func (p provider) GetConfigs() ([]*asynq.PeriodicTaskConfig, error) {
	var all []*asynq.PeriodicTaskConfig
	for _, s := range p {
		cs, err := s.PeriodicTasks()
		if err != nil {
			return nil, err
		}
		all = append(all, cs...)
	}
	return all, nil
}

// Start starts scheduling in the background.
func (s *Scheduler) Start() error {
	if err := s.m.Start(); err != nil {
		return fmt.Errorf("jobs: starting scheduler: %w", err)
	}
	return nil
}

// Shutdown stops scheduling.
func (s *Scheduler) Shutdown() { s.m.Shutdown() }
