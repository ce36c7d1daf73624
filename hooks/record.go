package hooks

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/liaison/liaison/hooks/send"
	"github.com/liaison/liaison/internal/db"
)

// Recording attempts. Every attempt ends with one write: the attempt's row
// and its delivery's new state, committed together before the queue hears
// that the run is over. The attempts of a process that end together are
// written together (batch.go): one statement and one commit for up to
// recordLimits.maxBatch of them. A batch that fails (one bad row spoils a
// statement) is written again row by row, so that each attempt gets its own
// answer.

// deliveryAttemptInsert inserts the attempt of a delivery.
var deliveryAttemptInsert = send.AttemptInsert("delivery_id")

// recordLimits bound the writes: 19 parameters a row, far under the
// databases' limits, and a statement short enough to plan at once. One
// write under way at a time: the attempts that end during it gather into
// the next (two under way at once made more statements, each smaller, for
// fewer deliveries a second; figures: README, Performance).
var recordLimits = batchLimits{maxBatch: 64, maxRunners: 1, timeout: 30 * time.Second}

// attemptRecord is one attempt to write with its delivery's new state.
type attemptRecord struct {
	deliveryID string
	a          Attempt
	status     string
	next       sql.NullTime
	finished   sql.NullTime
	lastError  string
	updatedAt  time.Time
}

// recordAttempt writes the attempt and the delivery's new state at once,
// together with the attempts of other deliveries that end meanwhile.
func (s *Service) recordAttempt(ctx context.Context, id string, a Attempt, status string, next, finished sql.NullTime, lastError string) error {
	r := &attemptRecord{deliveryID: id, a: a, status: status, next: next, finished: finished, lastError: lastError, updatedAt: s.now()}
	if _, err := s.recorder.do(ctx, r, recordLimits, s.writeBatch); err != nil {
		return fmt.Errorf("recording attempt %d of delivery %s: %w", a.Number, id, err)
	}
	return nil
}

// writeBatch writes a batch and answers each record; if writing it
// together fails, it writes the records one by one.
func (s *Service) writeBatch(ctx context.Context, batch []*batchCall[*attemptRecord, struct{}]) {
	if len(batch) > 1 {
		records := make([]*attemptRecord, len(batch))
		for i, c := range batch {
			records[i] = c.in
		}
		if err := s.writeTogether(ctx, records); err == nil {
			for _, c := range batch {
				c.answer(struct{}{}, nil)
			}
			return
		}
	}
	for _, c := range batch {
		c.answer(struct{}{}, s.writeOne(ctx, c.in))
	}
}

// writeTogether writes a batch in one statement (PostgreSQL) or one
// transaction (SQLite): all of it or none.
func (s *Service) writeTogether(ctx context.Context, batch []*attemptRecord) error {
	if s.opts.DB.Dialect == db.Postgres {
		q, args := recordStatement(batch)
		return s.opts.DB.InTxUnflushed(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, q, args...)
			return err
		})
	}
	return s.opts.DB.InTxUnflushed(ctx, func(tx *sql.Tx) error {
		for _, r := range batch {
			if err := writeSQLite(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeOne writes one record: on PostgreSQL one statement (a data-modifying
// CTE, one round trip), on SQLite, which has no such CTE, one transaction.
func (s *Service) writeOne(ctx context.Context, r *attemptRecord) error {
	if s.opts.DB.Dialect == db.Postgres {
		args := append(send.AttemptArgs(r.deliveryID, r.a), r.status, r.next, r.finished, r.lastError, r.updatedAt)
		const update = `UPDATE deliveries SET status=$15, attempts=$2, next_attempt_at=$16, finished_at=$17, last_status=$9, last_error=$18, updated_at=$19 WHERE id=$1`
		return s.opts.DB.InTxUnflushed(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `WITH a AS (`+deliveryAttemptInsert+`) `+update, args...)
			return err
		})
	}
	return s.opts.DB.InTxUnflushed(ctx, func(tx *sql.Tx) error { return writeSQLite(ctx, tx, r) })
}

func writeSQLite(ctx context.Context, tx *sql.Tx, r *attemptRecord) error {
	if _, err := tx.ExecContext(ctx, deliveryAttemptInsert, send.AttemptArgs(r.deliveryID, r.a)...); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE deliveries SET status=$2, attempts=$3, next_attempt_at=$4, finished_at=$5, last_status=$6, last_error=$7, updated_at=$8 WHERE id=$1`,
		r.deliveryID, r.status, r.a.Number, r.next, r.finished, r.a.Status, r.lastError, r.updatedAt)
	return err
}

// recordColumns are a batch row's values: the attempt (attemptArgs), then
// the delivery's new state. The casts give the VALUES list its types.
var recordColumns = [...]struct{ name, cast string }{
	{"delivery_id", "text"}, {"number", "int"}, {"started_at", "timestamptz"}, {"duration_ms", "float8"},
	{"method", "text"}, {"url", "text"}, {"request_headers", "jsonb"}, {"request_body", "text"},
	{"status", "int"}, {"response_headers", "jsonb"}, {"response_body", "text"}, {"truncated", "bool"},
	{"error", "text"}, {"outcome", "text"},
	{"d_status", "text"}, {"d_next", "timestamptz"}, {"d_finished", "timestamptz"}, {"d_last_error", "text"}, {"d_updated", "timestamptz"},
}

// recordStatement is one PostgreSQL statement that inserts every attempt
// of the batch and updates every delivery.
func recordStatement(batch []*attemptRecord) (string, []any) {
	var q strings.Builder
	args := make([]any, 0, len(batch)*len(recordColumns))
	q.WriteString(`WITH v (`)
	for i, c := range recordColumns {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(c.name)
	}
	q.WriteString(`) AS (VALUES `)
	for k, r := range batch {
		if k > 0 {
			q.WriteByte(',')
		}
		q.WriteByte('(')
		for i, c := range recordColumns {
			if i > 0 {
				q.WriteByte(',')
			}
			fmt.Fprintf(&q, "$%d::%s", len(args)+i+1, c.cast)
		}
		q.WriteByte(')')
		args = append(args, send.AttemptArgs(r.deliveryID, r.a)...)
		args = append(args, r.status, r.next, r.finished, r.lastError, r.updatedAt)
	}
	q.WriteString(`), a AS (INSERT INTO attempts (delivery_id, ` + send.AttemptColumns + `) SELECT `)
	for i, c := range recordColumns[:14] {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(c.name)
	}
	q.WriteString(` FROM v) UPDATE deliveries d SET status=v.d_status, attempts=v.number, next_attempt_at=v.d_next, finished_at=v.d_finished,
	last_status=v.status, last_error=v.d_last_error, updated_at=v.d_updated FROM v WHERE d.id = v.delivery_id`)
	return q.String(), args
}
