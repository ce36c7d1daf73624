package importer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/id"
)

// Run statuses.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusUnchanged = "unchanged"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Run is one execution of an import.
type Run struct {
	ID         string       `json:"id"`
	ImportID   string       `json:"import_id"`
	Status     string       `json:"status"`
	Trigger    string       `json:"trigger"`
	QueuedAt   time.Time    `json:"queued_at"`
	StartedAt  *time.Time   `json:"started_at"`
	FinishedAt *time.Time   `json:"finished_at"`
	Bytes      int64        `json:"bytes"`
	BytesTotal *int64       `json:"bytes_total"`
	Items      int64        `json:"items"`
	Counts     Counts       `json:"counts"`
	Errors     []ErrorEntry `json:"errors"`
	Message    string       `json:"message,omitempty"`
}

// Counts are what a run did to the catalogue.
type Counts struct {
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Removed   int64 `json:"removed"`
	Bad       int64 `json:"bad"`
}

// ErrorEntry is one sampled bad row.
type ErrorEntry struct {
	Position int64  `json:"position"`
	Unit     string `json:"unit"`
	Field    string `json:"field,omitempty"`
	Reason   string `json:"reason"`
}

// Events records Liaison's own events (import.completed, import.failed).
type Events interface {
	Record(ctx context.Context, eventType string, data map[string]any) error
}

// The events that tell of a run's end. Every run ends with exactly one:
// import.completed when it succeeded or found the feed unchanged,
// import.failed otherwise. A cancelled run is an import.failed with status
// "cancelled": it did not complete, and whoever waits for a run's end must
// hear of it.
const (
	EventCompleted = "import.completed"
	EventFailed    = "import.failed"
)

// endEvent is the event that tells of a run's end, and its data.
func endEvent(im Import, r Run) (string, map[string]any) {
	event := EventFailed
	if r.Status == StatusSucceeded || r.Status == StatusUnchanged {
		event = EventCompleted
	}
	return event, map[string]any{
		"import_id": im.ID, "import_name": im.Name, "run_id": r.ID, "status": r.Status, "message": r.Message,
		"items": r.Items, "bytes": r.Bytes, "counts": map[string]any{
			"created": r.Counts.Created, "updated": r.Counts.Updated, "unchanged": r.Counts.Unchanged,
			"removed": r.Counts.Removed, "bad": r.Counts.Bad,
		},
	}
}

const runColumns = `id, import_id, status, trigger, queued_at, started_at, finished_at, bytes, bytes_total, items,
	created, updated, unchanged, removed, bad, errors, message`

func scanRun(row db.Row) (Run, error) {
	var (
		r                 Run
		started, finished sql.NullTime
		total             sql.NullInt64
		errs              string
	)
	err := row.Scan(&r.ID, &r.ImportID, &r.Status, &r.Trigger, &r.QueuedAt, &started, &finished, &r.Bytes, &total, &r.Items,
		&r.Counts.Created, &r.Counts.Updated, &r.Counts.Unchanged, &r.Counts.Removed, &r.Counts.Bad, &errs, &r.Message)
	if err != nil {
		return Run{}, err
	}
	r.QueuedAt = r.QueuedAt.UTC()
	if started.Valid {
		t := started.Time.UTC()
		r.StartedAt = &t
	}
	if finished.Valid {
		t := finished.Time.UTC()
		r.FinishedAt = &t
	}
	if total.Valid {
		r.BytesTotal = &total.Int64
	}
	if err := json.Unmarshal([]byte(errs), &r.Errors); err != nil {
		r.Errors = nil
	}
	if r.Errors == nil {
		r.Errors = []ErrorEntry{}
	}
	return r, nil
}

// NewRun queues a run of an import. Only one run of an import may be queued
// or running at a time; a second gets ErrRunInProgress.
func (s *Store) NewRun(ctx context.Context, importID, trigger string) (Run, error) {
	if _, err := s.Get(ctx, importID); err != nil {
		return Run{}, err
	}
	r := Run{ID: id.New("run"), ImportID: importID, Status: StatusQueued, Trigger: trigger, QueuedAt: s.now(), Errors: []ErrorEntry{}}
	insert := func() error {
		_, err := s.db.ExecContext(ctx, `INSERT INTO import_runs (id, import_id, status, trigger, queued_at) VALUES ($1, $2, $3, $4, $5)`,
			r.ID, r.ImportID, r.Status, r.Trigger, r.QueuedAt)
		return err
	}
	err := insert()
	if err != nil && db.IsUniqueViolation(err) {
		ended, aerr := s.endAbandonedQueued(ctx, importID)
		if aerr != nil {
			return Run{}, aerr
		}
		if !ended {
			return Run{}, ErrRunInProgress
		}
		if err = insert(); err != nil && db.IsUniqueViolation(err) {
			return Run{}, ErrRunInProgress
		}
	}
	if err != nil {
		return Run{}, fmt.Errorf("importer: queuing run: %w", err)
	}
	return r, nil
}

// abandonedQueued is how long a queued run carrying the cancel flag may
// stand in the way of its import's next run before NewRun ends it.
const abandonedQueued = time.Minute

// endAbandonedQueued ends, as cancelled, the import's queued runs that
// carry the cancel flag and were queued longer than abandonedQueued ago:
// whoever flagged them (CancelRun, FailQueued) stopped before ending them,
// and a run that could not be queued has no task for a worker to find
// (Runner.endAbandoned). It reports whether it ended any.
func (s *Store) endAbandonedQueued(ctx context.Context, importID string) (bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM import_runs WHERE import_id = $1 AND status = $2 AND cancel_requested = $3 AND queued_at < $4`,
		importID, StatusQueued, true, s.now().Add(-abandonedQueued))
	if err != nil {
		return false, fmt.Errorf("importer: finding abandoned runs: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return false, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, id := range ids {
		if _, err := s.endQueued(ctx, id, StatusCancelled, abandonedMessage); err != nil {
			return false, err
		}
	}
	return len(ids) > 0, nil
}

const abandonedMessage = "cancelled before it started (whoever cancelled it stopped before ending it)"

// GetRun returns one run.
func (s *Store) GetRun(ctx context.Context, runID string) (Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM import_runs WHERE id = $1`, runID))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, fmt.Errorf("%w: run %s", ErrNotFound, runID)
	}
	if err != nil {
		return Run{}, fmt.Errorf("importer: reading run: %w", err)
	}
	return r, nil
}

// Runs pages through an import's runs, newest first.
func (s *Store) Runs(ctx context.Context, importID, before string, limit int) ([]Run, bool, error) {
	if _, err := s.Get(ctx, importID); err != nil {
		return nil, false, err
	}
	out, more, err := db.Page(ctx, s.db, scanRun, limit, `SELECT `+runColumns+` FROM import_runs
		WHERE import_id = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3`, importID, before, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("importer: listing runs: %w", err)
	}
	return out, more, nil
}

// cancelRequested reports whether a person asked to cancel the run.
func (s *Store) cancelRequested(ctx context.Context, runID string) bool {
	var c bool
	err := s.db.QueryRowContext(ctx, `SELECT cancel_requested FROM import_runs WHERE id = $1`, runID).Scan(&c)
	return err == nil && c
}

// FailQueued ends a queued run as failed (it could not be handed to the
// queue) and says so with import.failed. A run that has started or ended
// meanwhile is left to end as it does.
func (s *Store) FailQueued(ctx context.Context, runID, msg string) error {
	// The flag keeps a worker from starting the run while it is ended here
	// (an enqueue that reported an error may still have gone through).
	res, err := s.db.ExecContext(ctx, `UPDATE import_runs SET cancel_requested = $1 WHERE id = $2 AND status = $3`, true, runID, StatusQueued)
	if err != nil {
		return fmt.Errorf("importer: failing run: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	_, err = s.endQueued(ctx, runID, StatusFailed, msg)
	return err
}

// CancelRun stops a run: a queued one at once, a running one at its next
// progress report (within a few seconds), and either way its end is told
// with import.failed, status "cancelled". Cancelling a run whose end is
// already being told (two cancels at once) may tell of it twice; events
// are delivered at least once anyway.
func (s *Store) CancelRun(ctx context.Context, runID string) (Run, error) {
	// The flag keeps a queued run from starting and makes a running one
	// stop; once it is set a run stays queued until ended below, or running
	// until its Runner ends it, so exactly one of them tells of the end.
	var status string
	err := s.db.QueryRowContext(ctx, `UPDATE import_runs SET cancel_requested = $1 WHERE id = $2 AND status IN ($3, $4) RETURNING status`,
		true, runID, StatusQueued, StatusRunning).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		r, err := s.GetRun(ctx, runID)
		if err != nil {
			return Run{}, err
		}
		return r, fmt.Errorf("%w (status %s)", ErrRunFinished, r.Status)
	}
	if err != nil {
		return Run{}, fmt.Errorf("importer: cancelling run: %w", err)
	}
	if status == StatusQueued {
		// Flagged, the run starts no more: end it even if the caller has
		// gone, or it would wait for another cancel.
		return s.endQueued(context.WithoutCancel(ctx), runID, StatusCancelled, "cancelled before it started")
	}
	return s.GetRun(ctx, runID)
}

// endQueued ends a queued run that carries the cancel flag (so no worker
// starts it) with the given status and message.
func (s *Store) endQueued(ctx context.Context, runID, status, msg string) (Run, error) {
	r, err := s.GetRun(ctx, runID)
	if err != nil {
		return Run{}, err
	}
	if r.Status != StatusQueued {
		return r, nil // ended meanwhile by whoever else flagged it
	}
	im, err := s.Get(ctx, r.ImportID)
	if err != nil {
		return Run{}, err
	}
	if err := s.end(ctx, im, &r, StatusQueued, status, msg); err != nil {
		return Run{}, err
	}
	return s.GetRun(ctx, runID)
}

// end tells of a run's end with import.completed or import.failed, then
// shows the run as ended, if it is still in status from. The event comes
// first because the recorder cannot join this database transaction (the
// delivery engine writes through its own connections, and to Redis): so
// whoever sees the final status finds the event too, and a process that
// dies in between leaves the run unended for whoever ends it next, which
// may tell of it twice (deliveries are at least once) but never not at
// all.
func (s *Store) end(ctx context.Context, im Import, r *Run, from, status, msg string) error {
	r.Status, r.Message = status, msg
	if s.events != nil {
		event, data := endEvent(im, *r)
		if err := s.events.Record(ctx, event, data); err != nil {
			return fmt.Errorf("importer: recording %s: %w", event, err)
		}
	}
	now := s.now()
	res, err := s.db.ExecContext(ctx, `UPDATE import_runs SET status = $1, message = $2, finished_at = $3 WHERE id = $4 AND status = $5`,
		status, msg, now, r.ID, from)
	if err != nil {
		return fmt.Errorf("importer: finishing run: %w", err)
	}
	r.FinishedAt = &now
	if n, _ := res.RowsAffected(); n > 0 && s.observeRun != nil {
		s.observeRun(status)
	}
	return nil
}
