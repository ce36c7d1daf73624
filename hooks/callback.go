package hooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/liaison/liaison/internal/db"
)

// Callbacks. A callback delivery carries one event to a URL that its owner
// keeps, signed per Standard Webhooks with a secret the owner keeps, on the
// owner's schedule: the engine asks the owner for them when it sends
// (Options.Callbacks), so it reads no table of the owner's. The owners are
// API calls (package calls), whose result goes to the callback URL the call
// gave; the kind is stored, and the answers name the owner, as they always
// have ("call", call_id).
const kindCallback = "call"

// Callback is a callback delivery to store: its id and its event's, chosen
// by the owner (whose answers show the delivery id), the event's type and
// data, and when.
type Callback struct {
	DeliveryID, EventID string
	OwnerID             string
	EventType           string
	Data                []byte
	At                  time.Time
}

// AddCallback stores, in the owner's transaction, the event and its
// callback delivery, due at once. Once the transaction commits,
// QueueCallback queues it; the sweep queues it if that is lost.
func (s *Service) AddCallback(ctx context.Context, tx *sql.Tx, c Callback) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO events (id, type, occurred_at, received_at, source, profile, data) VALUES ($1,$2,$3,$3,$4,'{}',$5)`,
		c.EventID, c.EventType, c.At, sourceLiaison, string(c.Data)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO deliveries (id, event_id, target_kind, target_id, status, next_attempt_at, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$6,$6)`, c.DeliveryID, c.EventID, kindCallback, c.OwnerID, statusPending, c.At)
	return err
}

// QueueCallback queues a callback delivery stored with AddCallback.
func (s *Service) QueueCallback(ctx context.Context, deliveryID string) error {
	return s.opts.Queue.EnqueueDeliveries(ctx, []string{deliveryID})
}

// CallbackStatus is the status of a callback delivery, "" when there is
// none.
func (s *Service) CallbackStatus(ctx context.Context, deliveryID string) (string, error) {
	var status string
	err := s.opts.DB.QueryRowContext(ctx, `SELECT status FROM deliveries WHERE id = $1`, deliveryID).Scan(&status)
	if errors.Is(err, db.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading callback %s: %w", deliveryID, err)
	}
	return status, nil
}

// RemoveCallbacks removes, in the owner's transaction, the finished
// callback deliveries of owners with their attempts and their events; a
// callback still on its way stays.
func (s *Service) RemoveCallbacks(ctx context.Context, tx *sql.Tx, ownerIDs []string) error {
	if len(ownerIDs) == 0 {
		return nil
	}
	events, err := db.QueryStrings(ctx, tx, `SELECT event_id FROM deliveries WHERE target_kind = $1 AND target_id IN (`+db.Placeholders(2, len(ownerIDs))+`)
		AND status IN ($`+fmt.Sprint(len(ownerIDs)+2)+`, $`+fmt.Sprint(len(ownerIDs)+3)+`)`,
		append(append([]any{kindCallback}, db.Args(ownerIDs)...), statusSucceeded, statusFailed)...)
	if err != nil {
		return fmt.Errorf("finding callbacks: %w", err)
	}
	if len(events) == 0 {
		return nil
	}
	evIn, evArgs := db.Placeholders(1, len(events)), db.Args(events)
	if _, err := removeDeliveries(ctx, tx, `event_id IN (`+evIn+`)`, evArgs...); err != nil {
		return fmt.Errorf("removing callbacks: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id IN (`+evIn+`)`, evArgs...); err != nil {
		return fmt.Errorf("removing callbacks: %w", err)
	}
	return nil
}

// SealStoredHeaders seals the headers of hooks stored before headers were
// sealed (migration 0009); once done, it costs a small query. Every process
// runs it at start, after migrating.
func (s *Service) SealStoredHeaders(ctx context.Context) error {
	n, err := s.opts.Ring.SealPlainHeaders(ctx, s.opts.DB, "hooks", headersAAD)
	if n > 0 {
		s.opts.Log.InfoContext(ctx, "sealed headers stored in plaintext", "table", "hooks", "rows", n)
	}
	return err
}
