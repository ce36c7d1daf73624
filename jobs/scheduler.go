package jobs

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
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

// SchedulerConfig configures the scheduler.
type SchedulerConfig struct {
	// SyncInterval is how often the sources are read again. Default
	// DefaultSyncInterval.
	SyncInterval time.Duration
	// HeartbeatInterval is how often the scheduler publishes its entries
	// (what asynq's inspector and dashboards show). Default asynq's 10 s.
	HeartbeatInterval time.Duration
}

// DefaultSyncInterval is SchedulerConfig.SyncInterval: an edited schedule
// takes effect within a minute.
const DefaultSyncInterval = 30 * time.Second

// withDefaults fills what is unset; a negative value counts as unset, as
// in WorkerConfig.
func (cfg SchedulerConfig) withDefaults() SchedulerConfig {
	cfg.SyncInterval = cmp.Or(max(cfg.SyncInterval, 0), DefaultSyncInterval)
	return cfg
}

// NewScheduler builds the periodic task manager over the given sources.
func NewScheduler(r *Redis, cfg SchedulerConfig, log *slog.Logger, sources ...PeriodicSource) (*Scheduler, error) {
	cfg = cfg.withDefaults()
	log = log.With("component", "scheduler")
	m, err := asynq.NewPeriodicTaskManager(asynq.PeriodicTaskManagerOpts{
		RedisUniversalClient:       r.UniversalClient,
		PeriodicTaskConfigProvider: provider(sources),
		SyncInterval:               cfg.SyncInterval,
		SchedulerOpts: &asynq.SchedulerOpts{
			Logger:            slogAdapter{log},
			LogLevel:          asynqLevel(log),
			Location:          time.UTC,
			HeartbeatInterval: cfg.HeartbeatInterval,
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
