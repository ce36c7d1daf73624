package hooks

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/liaison/liaison/internal/id"
	"github.com/liaison/liaison/internal/invalid"
)

// Intake: events stored with their deliveries, the requests that arrive
// together in one transaction, then the first attempts queued in batches.

// Accepted is intake's answer for one event.
type Accepted struct {
	ID string `json:"id"`
	// Duplicate says an event with this id was taken before; nothing new
	// was created.
	Duplicate bool `json:"duplicate"`
	// Deliveries are the ids of the deliveries the event made (none for a
	// duplicate).
	Deliveries []string `json:"deliveries"`
}

// BatchItem is the outcome of one event of a batch: Accepted, or the
// fields that are wrong.
type BatchItem struct {
	Index int `json:"index"`
	*Accepted
	Errors []invalid.Field `json:"errors,omitempty"`
}

// Ingest takes one event: it stores it with one delivery per matching
// target in one transaction, then queues the deliveries. The same id again
// creates nothing (and queues again what the first intake may not have
// queued, should it have stopped between its commit and the queue).
func (s *Intake) Ingest(ctx context.Context, in EventInput) (Accepted, error) {
	var errs invalid.Error
	p := s.check(in, s.now(), &errs, "")
	if err := errs.Err(); err != nil {
		return Accepted{}, err
	}
	out, err := s.ingest(ctx, []*prepared{p}, false)
	if err != nil {
		return Accepted{}, err
	}
	return out[0], nil
}

// IngestBatch takes up to MaxBatch events. A bad event is reported by its
// index and does not hold up the others.
func (s *Intake) IngestBatch(ctx context.Context, ins []EventInput) ([]BatchItem, error) {
	if len(ins) == 0 {
		return nil, invalid.New("events", "must hold at least one event")
	}
	if len(ins) > MaxBatch {
		return nil, invalid.New("events", "holds %d events; at most %d", len(ins), MaxBatch)
	}
	now := s.now()
	items := make([]BatchItem, len(ins))
	var good []*prepared
	var goodIdx []int
	for i, in := range ins {
		var errs invalid.Error
		items[i].Index = i
		if p := s.check(in, now, &errs, "events["+strconv.Itoa(i)+"]."); p != nil {
			good = append(good, p)
			goodIdx = append(goodIdx, i)
		} else {
			items[i].Errors = errs.Fields
		}
	}
	if len(good) == 0 {
		return items, nil
	}
	acc, err := s.ingest(ctx, good, false)
	if err != nil {
		return nil, err
	}
	for j, i := range goodIdx {
		a := acc[j]
		items[i].Accepted = &a
	}
	return items, nil
}

// ingest stores events and their deliveries, then queues the deliveries.
// ownOnly matches webhooks only: Liaison's own events are notifications,
// not triggers for action hooks.
//
// The events of requests that arrive together share a transaction
// (intakeLimits): a commit waits for PostgreSQL to flush it to disk, and
// when the disk is slow for a moment, the requests arriving meanwhile
// then wait for one flush, on one connection, instead of each taking a
// connection (and the pool opening new ones) to queue for the disk
// behind the others. A request goes at once when no intake is under way,
// so a quiet process is as quick as before. A request of intakeAlone
// events or more is a batch by itself and has its own transaction.
func (s *Intake) ingest(ctx context.Context, events []*prepared, ownOnly bool) ([]Accepted, error) {
	call := intakeCall{events: events, ownOnly: ownOnly}
	if len(events) >= intakeAlone {
		out, err := s.store(ctx, []intakeCall{call})
		if err != nil {
			return nil, err
		}
		return out[0], nil
	}
	return s.intake.do(ctx, call, intakeLimits, s.storeBatch)
}

// intakeCall is one request's events.
type intakeCall struct {
	events  []*prepared
	ownOnly bool
}

// intakeLimits bound the shared intake transactions: up to 32 requests of
// fewer than intakeAlone events each, two transactions under way at once.
var intakeLimits = batchLimits{maxBatch: 32, maxRunners: 2, timeout: 30 * time.Second}

// intakeAlone is the size from which a request's events are stored in a
// transaction of their own.
const intakeAlone = 64

// storeBatch stores the events of several requests together; should that
// fail (one bad event spoils the transaction), each request's alone, so
// that it spoils no one else's.
func (s *Intake) storeBatch(ctx context.Context, batch []*batchCall[intakeCall, []Accepted]) {
	if len(batch) > 1 {
		calls := make([]intakeCall, len(batch))
		for i, c := range batch {
			calls[i] = c.in
		}
		if out, err := s.store(ctx, calls); err == nil {
			for i, c := range batch {
				c.answer(out[i], nil)
			}
			return
		}
	}
	for _, c := range batch {
		out, err := s.store(ctx, []intakeCall{c.in})
		if err != nil {
			c.answer(nil, err)
			continue
		}
		c.answer(out[0], nil)
	}
}

// store stores the events of calls and their deliveries in one
// transaction, then queues the deliveries, and answers each call.
//
// It costs a few statements, not a few per event: one multi-row insert of
// the events that reports which of them are new (the others are repeats
// of an earlier intake), one of all their deliveries, each split only to
// stay under the databases' limits on parameters.
func (s *Intake) store(ctx context.Context, calls []intakeCall) ([][]Accepted, error) {
	targets, err := s.targetList(ctx)
	if err != nil {
		return nil, err
	}
	type at struct{ call, index int }
	var (
		events []*prepared
		where  []at
	)
	for c, call := range calls {
		for i, p := range call.events {
			events = append(events, p)
			where = append(where, at{c, i})
		}
	}
	out := make([][]Accepted, len(calls))
	for c, call := range calls {
		out[c] = make([]Accepted, len(call.events))
	}
	accepted := func(k int) *Accepted { return &out[where[k].call][where[k].index] }
	// first is where each id first appears; a repeat within the same
	// transaction answers with that one's deliveries.
	first := make(map[string]int, len(events))
	unique := make([]*prepared, 0, len(events))
	for k, p := range events {
		if _, dup := first[p.ID]; !dup {
			first[p.ID] = k
			unique = append(unique, p)
		}
	}
	var (
		rows    []deliveryRow
		batches [][]deliveryRow // of rows, each with its batch id
		requeue []unqueued
	)
	err = s.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		rows, requeue = rows[:0], requeue[:0]
		stored, err := insertEvents(ctx, tx, unique)
		if err != nil {
			return err
		}
		for _, p := range unique {
			k := first[p.ID]
			a := accepted(k)
			*a = Accepted{ID: p.ID, Deliveries: []string{}}
			if !stored[p.ID] {
				a.Duplicate = true
				ds, err := unsentDeliveries(ctx, tx, p.ID)
				if err != nil {
					return err
				}
				requeue = append(requeue, ds...)
				continue
			}
			for _, t := range targets.match(p, calls[where[k].call].ownOnly) {
				delivery := id.NewHex("dlv_")
				rows = append(rows, deliveryRow{id: delivery, eventID: p.ID, kind: t.kind.String(), targetID: t.id, at: p.ReceivedAt})
				a.Deliveries = append(a.Deliveries, delivery)
			}
		}
		batches = inBatches(rows)
		for _, b := range batches {
			batch := id.NewHex("dlb_")
			for k := range b {
				b[k].batch = batch
			}
		}
		return insertDeliveries(ctx, tx, rows)
	})
	if err != nil {
		return nil, err
	}
	for k, p := range events {
		if j := first[p.ID]; j != k {
			*accepted(k) = Accepted{ID: p.ID, Duplicate: true, Deliveries: accepted(j).Deliveries}
		}
	}
	// The events are stored: a queue failure now must not turn into an
	// error that makes the platform think they were lost. The sweep queues
	// what was not queued (and a repeat of an event does at once).
	for _, b := range batches {
		ids := make([]string, len(b))
		for k, r := range b {
			ids[k] = r.id
		}
		if err := s.opts.Queue.EnqueueBatch(ctx, b[0].batch, ids); err != nil {
			s.opts.Log.ErrorContext(ctx, "queueing deliveries; the sweep will queue them", "batch_id", b[0].batch, "count", len(ids), "error", err)
		}
	}
	if len(requeue) > 0 {
		if err := s.requeue(ctx, requeue); err != nil {
			s.opts.Log.ErrorContext(ctx, "queueing deliveries again; the sweep will queue them", "count", len(requeue), "error", err)
		}
	}
	return out, nil
}

// Rows per multi-row insert: PostgreSQL takes at most 65,535 parameters in
// a statement and SQLite 32,766; these stay far below both.
const (
	eventsPerInsert     = 500  // 7 parameters each
	deliveriesPerInsert = 1000 // 6 parameters each
)

// insertEvents stores the events that are not stored yet and returns the
// ids of those it stored; an id already there is a repeat and is left as
// it was.
func insertEvents(ctx context.Context, tx *sql.Tx, events []*prepared) (map[string]bool, error) {
	stored := make(map[string]bool, len(events))
	for len(events) > 0 {
		chunk := events[:min(len(events), eventsPerInsert)]
		events = events[len(chunk):]
		var q strings.Builder
		q.WriteString(`INSERT INTO events (id, type, occurred_at, received_at, source, profile, data) VALUES `)
		args := make([]any, 0, len(chunk)*7)
		for k, p := range chunk {
			if k > 0 {
				q.WriteByte(',')
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d,$%d,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
			args = append(args, p.ID, p.Type, p.OccurredAt, p.ReceivedAt, p.Source, string(p.Profile), string(p.Data))
		}
		q.WriteString(` ON CONFLICT (id) DO NOTHING RETURNING id`)
		rows, err := tx.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("storing %d events: %w", len(chunk), err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("storing %d events: %w", len(chunk), err)
			}
			stored[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("storing %d events: %w", len(chunk), err)
		}
	}
	return stored, nil
}

// deliveryRow is a new delivery as intake stores it: pending, due now,
// its first attempt queued in batch.
type deliveryRow struct {
	id, eventID, kind, targetID, batch string
	at                                 time.Time
}

// MaxDeliveryBatch is the most deliveries whose first attempts travel in
// one task (DeliverFirst). A batch costs the queue what one delivery queued alone costs (a script
// to enqueue it, one to take it, one to end it: most of a delivery's cost
// on Redis and a third of the worker's), and the worker runs a batch's
// deliveries side by side, so their loads and their attempts' writes
// share statements (batch.go) up to the same 64. Smaller batches spread
// an intake over more workers; larger ones would save little more.
const MaxDeliveryBatch = 64

// inBatches splits new deliveries into batches of at most
// MaxDeliveryBatch, of sizes as even as can be (100 make two of 50, not 64
// and 36), in order.
func inBatches(rows []deliveryRow) [][]deliveryRow {
	if len(rows) == 0 {
		return nil
	}
	n := (len(rows) + MaxDeliveryBatch - 1) / MaxDeliveryBatch
	size, larger := len(rows)/n, len(rows)%n // the first larger ones take one more
	out := make([][]deliveryRow, n)
	for i := range out {
		k := size
		if i < larger {
			k++
		}
		out[i], rows = rows[:k:k], rows[k:]
	}
	return out
}

func insertDeliveries(ctx context.Context, tx *sql.Tx, rows []deliveryRow) error {
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), deliveriesPerInsert)]
		rows = rows[len(chunk):]
		var q strings.Builder
		q.WriteString(`INSERT INTO deliveries (id, event_id, target_kind, target_id, batch_id, status, next_attempt_at, created_at, updated_at) VALUES `)
		args := make([]any, 0, 1+len(chunk)*6)
		args = append(args, statusPending)
		for k, r := range chunk {
			if k > 0 {
				q.WriteByte(',')
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d,$%d,$%d,$%d,$%d,$1,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+6, n+6)
			args = append(args, r.id, r.eventID, r.kind, r.targetID, r.batch, r.at)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("storing %d deliveries: %w", len(chunk), err)
		}
	}
	return nil
}

// unsentDeliveries are an event's deliveries that never had an attempt.
func unsentDeliveries(ctx context.Context, tx *sql.Tx, eventID string) ([]unqueued, error) {
	ds, err := queryUnqueued(ctx, tx, `SELECT id, batch_id, status, attempts FROM deliveries WHERE event_id = $1 AND status = $2 AND attempts = 0`, eventID, statusPending)
	if err != nil {
		return nil, fmt.Errorf("reading deliveries of event %s: %w", eventID, err)
	}
	return ds, nil
}
