package hooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/liaison/liaison/hooks/send"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/invalid"
)

// Delivery is one event going to one target.
//
// Statuses: pending (waiting for its first attempt, or for a manual retry),
// retrying (an attempt failed; the next is at next_attempt_at), postponed
// (waiting without using an attempt: its connection needs reauthorization,
// or a rate or concurrency limit holds it back), succeeded, failed
// (exhausted, failed at once, or its target is gone).
type Delivery struct {
	ID         string `json:"id"`
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	TargetKind string `json:"target_kind"`
	HookID     string `json:"hook_id,omitempty"`
	WebhookID  string `json:"webhook_id,omitempty"`
	// OwnerID is the owner of a callback delivery (kindCallback): the
	// answers have always named it call_id.
	OwnerID string `json:"call_id,omitempty"`
	Status  string `json:"status"`
	// AttemptCount is every attempt made so far, manual retries included.
	AttemptCount  int        `json:"attempt_count"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LastStatus    int        `json:"last_status,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
	// Attempts are listed by GET /v1/deliveries/{id} only.
	Attempts []Attempt `json:"attempts,omitempty"`
}

// DeliveryFilter narrows a list of deliveries.
type DeliveryFilter struct {
	HookID    string
	WebhookID string
	// TargetKind (hook, webhook or call) keeps the deliveries of one kind
	// of target; with TargetID, of that one target (a call's are its
	// callback deliveries).
	TargetKind string
	TargetID   string
	EventID    string
	// EventType keeps the deliveries of events of that exact type.
	EventType string
	Status    string
	// Since and Until bound the deliveries' creation: since included,
	// until excluded; zero is unbounded.
	Since, Until time.Time
	// Cursor is the next_cursor of the previous page.
	Cursor string
	Limit  int
}

// TargetKinds are the kinds of target a delivery goes to, as
// DeliveryFilter.TargetKind names them.
func TargetKinds() []string { return []string{"hook", "webhook", kindCallback} }

// where is the filter as SQL conditions on deliveries d joined to events
// e, their arguments appended to args; an invalid field is an
// *invalid.Error naming it.
func (f DeliveryFilter) where(args *[]any) ([]string, error) {
	var where []string
	arg := func(v any) string { *args = append(*args, v); return "$" + strconv.Itoa(len(*args)) }
	if f.HookID != "" {
		where = append(where, "d.target_kind = 'hook' AND d.target_id = "+arg(f.HookID))
	}
	if f.WebhookID != "" {
		where = append(where, "d.target_kind = 'webhook' AND d.target_id = "+arg(f.WebhookID))
	}
	if f.TargetKind != "" {
		if !slices.Contains(TargetKinds(), f.TargetKind) {
			return nil, invalid.New("target_kind", "must be hook, webhook or call")
		}
		where = append(where, "d.target_kind = "+arg(f.TargetKind))
		if f.TargetID != "" {
			where = append(where, "d.target_id = "+arg(f.TargetID))
		}
	}
	if f.EventID != "" {
		where = append(where, "d.event_id = "+arg(f.EventID))
	}
	if f.EventType != "" {
		if !ValidEventType(f.EventType) {
			return nil, invalid.New("event_type", "must be an event type such as email.opened")
		}
		where = append(where, "e.type = "+arg(f.EventType))
	}
	if f.Status != "" {
		switch f.Status {
		case statusPending, statusRetrying, statusPostponed, statusSucceeded, statusFailed:
		default:
			return nil, invalid.New("status", "must be pending, retrying, postponed, succeeded or failed")
		}
		where = append(where, "d.status = "+arg(f.Status))
	}
	if !f.Since.IsZero() {
		where = append(where, "d.created_at >= "+arg(f.Since.UTC()))
	}
	if !f.Until.IsZero() {
		where = append(where, "d.created_at < "+arg(f.Until.UTC()))
	}
	if f.Cursor != "" {
		at, id, ok := decodeCursor(f.Cursor)
		if !ok {
			return nil, invalid.New("cursor", "is not a cursor from a previous page")
		}
		a, b := arg(at), arg(id)
		where = append(where, "(d.created_at < "+a+" OR (d.created_at = "+a+" AND d.id < "+b+"))")
	}
	return where, nil
}

// fromWhere is the FROM and WHERE of a query of the filter's deliveries:
// events are joined only when the filter needs their type.
func (f DeliveryFilter) fromWhere(args *[]any, withEvents bool) (string, error) {
	where, err := f.where(args)
	if err != nil {
		return "", err
	}
	q := ` FROM deliveries d`
	if withEvents || f.EventType != "" {
		q += ` JOIN events e ON e.id = d.event_id`
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return q, nil
}

const deliveryColumns = `d.id, d.event_id, e.type, d.target_kind, d.target_id, d.status, d.attempts, d.next_attempt_at,
	d.last_status, d.last_error, d.created_at, d.updated_at, d.finished_at`

func scanDelivery(row interface{ Scan(...any) error }) (Delivery, error) {
	var (
		d              Delivery
		targetID       string
		next, finished sql.NullTime
	)
	if err := row.Scan(&d.ID, &d.EventID, &d.EventType, &d.TargetKind, &targetID, &d.Status, &d.AttemptCount, &next,
		&d.LastStatus, &d.LastError, &d.CreatedAt, &d.UpdatedAt, &finished); err != nil {
		return Delivery{}, err
	}
	switch d.TargetKind {
	case "hook":
		d.HookID = targetID
	case "webhook":
		d.WebhookID = targetID
	case kindCallback:
		d.OwnerID = targetID
	}
	if next.Valid && (d.Status == statusRetrying || d.Status == statusPostponed || d.Status == statusPending) {
		t := next.Time.UTC()
		d.NextAttemptAt = &t
	}
	if finished.Valid {
		t := finished.Time.UTC()
		d.FinishedAt = &t
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, nil
}

// Deliveries lists deliveries, newest first. The cursor is opaque.
func (s *Service) Deliveries(ctx context.Context, f DeliveryFilter) (_ []Delivery, nextCursor string, _ error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	var args []any
	from, err := f.fromWhere(&args, true)
	if err != nil {
		return nil, "", err
	}
	args = append(args, f.Limit+1)
	q := `SELECT ` + deliveryColumns + from + " ORDER BY d.created_at DESC, d.id DESC LIMIT $" + strconv.Itoa(len(args))
	rows, err := s.opts.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("listing deliveries: %w", err)
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, "", fmt.Errorf("listing deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("listing deliveries: %w", err)
	}
	if len(out) > f.Limit {
		out = out[:f.Limit]
		last := out[len(out)-1]
		nextCursor = last.CreatedAt.Format(time.RFC3339Nano) + "|" + last.ID
	}
	return out, nextCursor, nil
}

func decodeCursor(c string) (time.Time, string, bool) {
	at, id, ok := strings.Cut(c, "|")
	if !ok {
		return time.Time{}, "", false
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return time.Time{}, "", false
	}
	return t.UTC(), id, true
}

// Delivery returns one delivery with its attempts, oldest first.
func (s *Service) Delivery(ctx context.Context, id string) (Delivery, error) {
	d, err := scanDelivery(s.opts.DB.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1`, id))
	if errors.Is(err, db.ErrNoRows) {
		return Delivery{}, notFound("delivery", id)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("reading delivery %s: %w", id, err)
	}
	if d.Attempts, err = send.Attempts(ctx, s.opts.DB, "delivery_id", id); err != nil {
		return Delivery{}, err
	}
	return d, nil
}

// Retry sends a finished delivery again, with a fresh round of the
// schedule. A delivery that is still on its way is a conflict: it will be
// tried anyway.
func (s *Service) Retry(ctx context.Context, id string) (Delivery, error) {
	now := s.now()
	// Out of its batch, if it had one: a run of the batch must not send it
	// too (a delivery failed without an attempt has none).
	res, err := s.opts.DB.ExecContext(ctx, `UPDATE deliveries SET status=$2, retry_base=attempts, next_attempt_at=$3, finished_at=NULL, updated_at=$3, batch_id=''
		WHERE id=$1 AND status IN ($4, $5)`, id, statusPending, now, statusSucceeded, statusFailed)
	if err != nil {
		return Delivery{}, fmt.Errorf("retrying delivery %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		d, err := s.Delivery(ctx, id)
		if err != nil {
			return Delivery{}, err
		}
		return Delivery{}, fmt.Errorf("%w: delivery %s is %s, not finished; it will be tried without a retry", ErrConflict, id, d.Status)
	}
	// Read as stored, before a quick worker can send it: the answer shows
	// the retry as it was accepted, pending.
	d, err := s.Delivery(ctx, id)
	if err != nil {
		return Delivery{}, err
	}
	// The delivery may have finished a moment ago while its task is still
	// winding up: RunDeliveriesNow waits for that task to end rather than
	// taking it for this round and queueing nothing.
	if err := s.opts.Queue.RunDeliveriesNow(ctx, []string{id}); err != nil {
		return Delivery{}, fmt.Errorf("queueing delivery %s: %w", id, err)
	}
	return d, nil
}

// ReplayResult says how many deliveries a replay sent again.
type ReplayResult struct {
	Replayed int `json:"replayed"`
}

// Replay sends again every finished delivery (succeeded or failed) of a
// target created since the given time, each with a fresh round of the
// schedule. Deliveries still on their way are left to finish.
func (s *Service) Replay(ctx context.Context, kind send.TargetKind, targetID string, since time.Time) (ReplayResult, error) {
	switch kind {
	case send.TargetHook:
		if _, err := s.Hook(ctx, targetID); err != nil {
			return ReplayResult{}, err
		}
	case send.TargetWebhook:
		if _, err := s.Webhook(ctx, targetID); err != nil {
			return ReplayResult{}, err
		}
	}
	if since.IsZero() {
		return ReplayResult{}, invalid.New("since", "is required: the time from which deliveries are sent again (RFC 3339)")
	}
	var ids []string
	now := s.now()
	err := s.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = db.QueryStrings(ctx, tx, `SELECT id FROM deliveries WHERE target_kind=$1 AND target_id=$2 AND created_at >= $3 AND status IN ($4, $5)`,
			kind.String(), targetID, since.UTC(), statusSucceeded, statusFailed)
		if err != nil {
			return fmt.Errorf("finding deliveries to replay: %w", err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET status=$4, retry_base=attempts, next_attempt_at=$5, finished_at=NULL, updated_at=$5, batch_id=''
			WHERE target_kind=$1 AND target_id=$2 AND created_at >= $3 AND status IN ($6, $7)`,
			kind.String(), targetID, since.UTC(), statusPending, now, statusSucceeded, statusFailed)
		if err != nil {
			return fmt.Errorf("replaying deliveries: %w", err)
		}
		return nil
	})
	if err != nil {
		return ReplayResult{}, err
	}
	s.runNow(ctx, ids)
	return ReplayResult{Replayed: len(ids)}, nil
}

// ResumeConnection wakes the deliveries postponed because the connection
// needed reauthorization, or for its circuit: they run now instead of at
// their next check. Then it tells Options.Resumer, which wakes the rest.
func (s *Intake) ResumeConnection(ctx context.Context, connectionID string) error {
	if err := s.resumeDeliveries(ctx, connectionID); err != nil {
		return err
	}
	if s.opts.Resumer == nil {
		return nil
	}
	return s.opts.Resumer.ResumeConnection(ctx, connectionID)
}

func (s *Intake) resumeDeliveries(ctx context.Context, connectionID string) error {
	ids, err := s.ids(ctx, `SELECT d.id FROM deliveries d JOIN hooks h ON d.target_kind = 'hook' AND h.id = d.target_id
		WHERE d.status = $1 AND h.connection_id = $2`, statusPostponed, connectionID)
	if err != nil {
		return fmt.Errorf("finding deliveries waiting for connection %s: %w", connectionID, err)
	}
	if len(ids) == 0 {
		return nil
	}
	return s.opts.Queue.RunDeliveriesNow(ctx, ids)
}

// Sweep queues deliveries that should be on the queue and may not be: the
// web process stopped between storing an event and queueing it, or could
// not reach Redis, Redis lost its queued tasks (a restart without
// persistence), or a replay raced the end of the previous task. Queueing
// is idempotent (a delivery alone has its id as task id, a batch its batch
// id), so sweeping a delivery that is queued costs a refused enqueue. It
// takes those due for longer than grace, oldest first, in pages of
// sweepPage up to SweepLimit, so that after Redis lost everything the
// deliveries behind the first page do not wait for it to be sent.
func (s *Service) Sweep(ctx context.Context, grace time.Duration) (int, error) {
	cutoff := s.now().Add(-grace)
	var (
		swept  int
		lastAt time.Time
		lastID string
	)
	for swept < SweepLimit {
		args := []any{statusPending, statusRetrying, statusPostponed, cutoff}
		q := `SELECT id, batch_id, status, attempts, next_attempt_at FROM deliveries
		WHERE status IN ($1, $2, $3) AND next_attempt_at < $4`
		if lastID != "" {
			q += ` AND (next_attempt_at > $5 OR (next_attempt_at = $5 AND id > $6))`
			args = append(args, lastAt, lastID)
		}
		q += ` ORDER BY next_attempt_at, id LIMIT ` + strconv.Itoa(sweepPage)
		ds, err := queryUnqueued(ctx, s.opts.DB, q, args...)
		if err != nil {
			return swept, fmt.Errorf("sweeping deliveries: %w", err)
		}
		if err := s.requeue(ctx, ds); err != nil {
			return swept, fmt.Errorf("sweeping deliveries: %w", err)
		}
		swept += len(ds)
		if len(ds) < sweepPage {
			break
		}
		lastAt, lastID = ds[len(ds)-1].at, ds[len(ds)-1].id
	}
	return swept, nil
}

// A sweep reads due deliveries sweepPage at a time, at most SweepLimit.
const (
	sweepPage  = 1000
	SweepLimit = 10 * sweepPage
)

// unqueued is a delivery that may have lost its task: its id, the batch
// that carried its first attempt ("" if none) and whether that attempt is
// still to be made.
type unqueued struct {
	id, batch string
	first     bool
	// at is when it became due; read by the sweep only.
	at time.Time
}

func queryUnqueued(ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string, args ...any) ([]unqueued, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []unqueued
	for rows.Next() {
		var (
			d        unqueued
			status   string
			attempts int
		)
		dest := []any{&d.id, &d.batch, &status, &attempts}
		if len(cols) == 5 { // the sweep's, with next_attempt_at
			dest = append(dest, &d.at)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		d.first = status == statusPending && attempts == 0
		out = append(out, d)
	}
	return out, rows.Err()
}

// requeue queues deliveries again. One still waiting for its first attempt
// in a batch goes back in that batch, under the batch's id: if the batch is
// still on the queue (or an intake is only now getting to queue it), asynq
// refuses the second copy, so no delivery is ever both in a batch and
// alone. The others are queued alone.
func (s *Intake) requeue(ctx context.Context, ds []unqueued) error {
	batches := map[string][]string{}
	var alone []string
	for _, d := range ds {
		if d.first && d.batch != "" {
			batches[d.batch] = append(batches[d.batch], d.id)
		} else {
			alone = append(alone, d.id)
		}
	}
	for batch, ids := range batches {
		if err := s.opts.Queue.EnqueueBatch(ctx, batch, ids); err != nil {
			return err
		}
	}
	if len(alone) == 0 {
		return nil
	}
	return s.opts.Queue.EnqueueDeliveries(ctx, alone)
}

// Clean enforces retention: finished deliveries (with their attempts) and
// events older than Retention are removed, in bounded batches so that a
// large backlog does not hold long locks. It returns how many deliveries
// and events went.
func (s *Service) Clean(ctx context.Context) (deliveries, events int64, _ error) {
	cutoff := s.now().Add(-s.opts.Retention)
	for {
		var n int64
		err := s.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			n, err = removeDeliveries(ctx, tx, `id IN (SELECT id FROM deliveries WHERE created_at < $1 AND status IN ($2, $3) LIMIT 1000)`,
				cutoff, statusSucceeded, statusFailed)
			return err
		})
		if err != nil {
			return deliveries, events, fmt.Errorf("removing old deliveries: %w", err)
		}
		deliveries += n
		if n < 1000 {
			break
		}
	}
	for {
		res, err := s.opts.DB.ExecContext(ctx, `DELETE FROM events WHERE id IN (
			SELECT e.id FROM events e WHERE e.received_at < $1
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT 1000)`, cutoff)
		if err != nil {
			return deliveries, events, fmt.Errorf("removing old events: %w", err)
		}
		n, _ := res.RowsAffected()
		events += n
		if n < 1000 {
			break
		}
	}
	return deliveries, events, nil
}

// removeDeliveries removes the deliveries that where selects, with their
// attempts, and returns how many went. The delivery tables have no
// cascading foreign keys on PostgreSQL (they made every write of the hot
// path lock its parent row: migration 0006), so whatever removes
// deliveries removes through here.
func removeDeliveries(ctx context.Context, tx *sql.Tx, where string, args ...any) (int64, error) {
	deleted, err := db.QueryStrings(ctx, tx, `DELETE FROM deliveries WHERE `+where+` RETURNING id`, args...)
	if err != nil {
		return 0, err
	}
	ids := db.Args(deleted)
	for start := 0; start < len(ids); start += 1000 {
		chunk := ids[start:min(start+1000, len(ids))]
		if _, err := tx.ExecContext(ctx, `DELETE FROM attempts WHERE delivery_id IN (`+db.Placeholders(1, len(chunk))+`)`, chunk...); err != nil {
			return 0, err
		}
	}
	return int64(len(ids)), nil
}
