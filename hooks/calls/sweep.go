package calls

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/internal/db"
)

// ResumeConnection wakes the calls postponed because the connection needed
// reauthorization, or for its circuit. It satisfies hooks.Resumer: the
// engine tells it when a connection connects again or its circuit closes.
func (s *Targets) ResumeConnection(ctx context.Context, connectionID string) error {
	ids, err := db.QueryStrings(ctx, s.opts.DB, `SELECT id FROM calls WHERE connection_id = $1 AND state = $2`, connectionID, CallPostponed)
	if err != nil {
		return fmt.Errorf("waking calls waiting for connection %s: %w", connectionID, err)
	}
	if len(ids) == 0 {
		return nil
	}
	if err := s.opts.Queue.RunCallsNow(ctx, ids); err != nil {
		return fmt.Errorf("waking calls waiting for connection %s: %w", connectionID, err)
	}
	return nil
}

var _ hooks.Resumer = (*Targets)(nil)

// CallbackTarget is where the callback of a call goes: the URL the call
// gave, signed with its secret, on the call schedule. It satisfies
// hooks.CallbackTargets; found is false once the call is removed.
func (s *Targets) CallbackTarget(ctx context.Context, id string) (hooks.CallbackTarget, bool, error) {
	var url, sealed string
	err := s.opts.DB.QueryRowContext(ctx, `SELECT callback_url, callback_secret FROM calls WHERE id = $1`, id).Scan(&url, &sealed)
	if errors.Is(err, db.ErrNoRows) {
		return hooks.CallbackTarget{}, false, nil
	}
	if err != nil {
		return hooks.CallbackTarget{}, false, fmt.Errorf("reading the callback of call %s: %w", id, err)
	}
	plain, err := s.opts.Ring.OpenString(sealed, callSecretAAD(id))
	if err != nil {
		return hooks.CallbackTarget{}, false, fmt.Errorf("opening the callback secret of call %s: %w", id, err)
	}
	return hooks.CallbackTarget{URL: url, Secret: plain, Schedule: s.opts.Schedule}, true, nil
}

var _ hooks.CallbackTargets = (*Targets)(nil)

// Sweep queues calls that should be on the queue and may not be (the web
// process stopped between storing a call and queueing it), those due for
// longer than grace. Queueing is idempotent: the call id is the task id.
func (s *Service) Sweep(ctx context.Context, grace time.Duration) (int, error) {
	ids, err := db.QueryStrings(ctx, s.opts.DB, `SELECT id FROM calls WHERE state IN ($1, $2, $3, $4) AND next_attempt_at < $5 ORDER BY next_attempt_at LIMIT 1000`,
		CallQueued, CallRunning, CallRetrying, CallPostponed, s.now().Add(-grace))
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return len(ids), s.opts.Queue.EnqueueCalls(ctx, ids)
}

// Clean enforces Options.Retention: calls that ended longer ago are
// removed with their attempts, their callback deliveries and the events
// those carried, in bounded batches. It returns how many calls went.
func (s *Service) Clean(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-s.opts.Retention)
	var removed int64
	for {
		ids, err := db.QueryStrings(ctx, s.opts.DB, `SELECT id FROM calls WHERE finished_at < $1 AND state IN ($2, $3) ORDER BY finished_at LIMIT 500`,
			cutoff, CallSucceeded, CallFailed)
		if err != nil {
			return removed, fmt.Errorf("finding old calls: %w", err)
		}
		if len(ids) == 0 {
			return removed, nil
		}
		err = s.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
			// The callback's event goes with its deliveries, their attempts
			// with them; a callback still on its way stays.
			if err := s.opts.Callbacks.RemoveCallbacks(ctx, tx, ids); err != nil {
				return fmt.Errorf("removing callbacks of old calls: %w", err)
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM calls WHERE id IN (`+db.Placeholders(1, len(ids))+`)`, db.Args(ids)...)
			if err != nil {
				return fmt.Errorf("removing old calls: %w", err)
			}
			n, _ := res.RowsAffected()
			removed += n
			return nil
		})
		if err != nil {
			return removed, err
		}
		if len(ids) < 500 {
			return removed, nil
		}
	}
}

// SealStoredHeaders seals the headers of calls stored before headers were
// sealed (migration 0009); once done, it costs a small query. Every process
// runs it at start, after migrating.
func (s *Service) SealStoredHeaders(ctx context.Context) error {
	n, err := s.opts.Ring.SealPlainHeaders(ctx, s.opts.DB, "calls", callHeadersAAD)
	if n > 0 {
		s.opts.Log.InfoContext(ctx, "sealed headers stored in plaintext", "table", "calls", "rows", n)
	}
	return err
}
