package importer

import (
	"context"
	"fmt"

	"github.com/liaison/liaison/internal/db"
)

// RunQueue makes queued runs go now; jobs.Client satisfies it.
type RunQueue interface {
	RunImportRunsNow(ctx context.Context, runIDs []string) error
}

// Waker wakes the runs that wait for a connection: a run postponed while
// its connection needed reconnecting, was paused or had its circuit open
// is queued again after RunnerOptions.PostponeFor; when the connection can
// be used again, Waker makes it go at once. It satisfies hooks.Resumer,
// which is told when a connection connects, is resumed or its circuit
// closes.
type Waker struct {
	DB    *db.DB
	Queue RunQueue
}

// ResumeConnection makes the queued runs of the imports through
// connectionID go now.
func (w Waker) ResumeConnection(ctx context.Context, connectionID string) error {
	ids, err := db.QueryStrings(ctx, w.DB, `SELECT r.id FROM import_runs r JOIN imports i ON i.id = r.import_id
		WHERE i.connection_id = $1 AND r.status = $2`, connectionID, StatusQueued)
	if err != nil {
		return fmt.Errorf("waking the import runs waiting for connection %s: %w", connectionID, err)
	}
	if len(ids) == 0 {
		return nil
	}
	if err := w.Queue.RunImportRunsNow(ctx, ids); err != nil {
		return fmt.Errorf("waking the import runs waiting for connection %s: %w", connectionID, err)
	}
	return nil
}
