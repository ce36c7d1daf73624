package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/retry"
)

// Task types of feed imports.
const (
	// TypeImportRun executes one queued run; its task id is the run id.
	TypeImportRun = "import:run"
	// TypeImportSchedule is what the scheduler enqueues when an import's
	// schedule fires: it queues a run unless one is queued or running.
	TypeImportSchedule = "import:schedule"
)

type importRunPayload struct {
	RunID string `json:"run_id"`
}

type importSchedulePayload struct {
	ImportID string `json:"import_id"`
}

// NewImportRunTask makes the task that executes a run. The run id is the
// task id, so a run is never queued twice. Retries are postponements only
// (failures are recorded on the run, not retried), so the cap is high and
// the timeout covers the longest time limit an import may set.
func NewImportRunTask(runID string) (*asynq.Task, []asynq.Option) {
	payload, _ := json.Marshal(importRunPayload{RunID: runID})
	return asynq.NewTask(TypeImportRun, payload), []asynq.Option{
		asynq.TaskID(runID), asynq.Queue(QueueLow), asynq.MaxRetry(100_000),
		asynq.Timeout(importer.MaxTimeLimit + 5*time.Minute),
	}
}

// RunImportRunsNow makes queued runs that wait (a postponement) go now,
// and queues those whose task is gone. It satisfies importer.RunQueue.
func (c *Client) RunImportRunsNow(ctx context.Context, runIDs []string) error {
	return c.runNow(ctx, QueueLow, runIDs, c.enqueueImportRuns)
}

// enqueueImportRuns queues the tasks of runs; those already queued are
// left as they are.
func (c *Client) enqueueImportRuns(ctx context.Context, runIDs []string) error {
	return c.enqueueEach(ctx, "import run", runIDs, NewImportRunTask)
}

var _ importer.RunQueue = (*Client)(nil)

// StartImportRun queues a run of an import and the task that executes it.
// A run that could not be handed to the queue is ended at once, failed
// (with import.failed, as every run's end), so that it does not block the
// import's next runs.
func (c *Client) StartImportRun(ctx context.Context, store *importer.Store, importID, trigger string) (importer.Run, error) {
	run, err := store.NewRun(ctx, importID, trigger)
	if err != nil {
		return importer.Run{}, err
	}
	t, opts := NewImportRunTask(run.ID)
	if _, err := c.Enqueue(ctx, t, opts...); err != nil {
		if ferr := store.FailQueued(context.WithoutCancel(ctx), run.ID, "the run could not be queued: "+err.Error()); ferr != nil {
			return importer.Run{}, errors.Join(err, ferr)
		}
		return importer.Run{}, err
	}
	return run, nil
}

// CancelImportRun cancels a run and, when it is running in some worker,
// interrupts it there at once rather than at its next progress report.
func (c *Client) CancelImportRun(ctx context.Context, store *importer.Store, runID string) (importer.Run, error) {
	run, err := store.CancelRun(ctx, runID)
	if err != nil {
		return run, err
	}
	if run.Status == importer.StatusRunning {
		_ = c.ins.CancelProcessing(runID) // best effort: the flag in the store is the guarantee
	}
	return run, nil
}

func handleImportRun(runner *importer.Runner) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p importRunPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return retry.Never(fmt.Errorf("decoding %s payload: %w", t.Type(), err))
		}
		return runner.Execute(ctx, p.RunID)
	}
}

func handleImportSchedule(store *importer.Store, client *Client, log *slog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p importSchedulePayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return retry.Never(fmt.Errorf("decoding %s payload: %w", t.Type(), err))
		}
		run, err := client.StartImportRun(ctx, store, p.ImportID, "schedule")
		switch {
		case errors.Is(err, importer.ErrRunInProgress):
			// Runs of one import never overlap: this firing is skipped.
			log.InfoContext(ctx, "scheduled import skipped: a run is still queued or running", "import_id", p.ImportID)
			return nil
		case errors.Is(err, importer.ErrNotFound):
			return nil // deleted since the scheduler last synced
		case err != nil:
			return err
		}
		log.DebugContext(ctx, "scheduled import queued", "import_id", p.ImportID, "run_id", run.ID)
		return nil
	}
}

// ImportSchedules is the periodic source of feed imports: the scheduler
// reads it on every sync, so creating, editing, disabling or deleting an
// import changes the schedule without a restart.
type ImportSchedules struct {
	Store *importer.Store
	Log   *slog.Logger
}

// PeriodicTasks implements PeriodicSource.
func (s ImportSchedules) PeriodicTasks() ([]*asynq.PeriodicTaskConfig, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ims, err := s.Store.Scheduled(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*asynq.PeriodicTaskConfig, 0, len(ims))
	for _, im := range ims {
		payload, _ := json.Marshal(importSchedulePayload{ImportID: im.ID})
		out = append(out, &asynq.PeriodicTaskConfig{
			Cronspec: im.Cronspec(),
			Task:     asynq.NewTask(TypeImportSchedule, payload),
			Opts:     []asynq.Option{asynq.Queue(QueueLow), asynq.MaxRetry(3)},
		})
	}
	return out, nil
}
