package users

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ThrottledError is a sign-in refused unheard after too many failures,
// from the address or for the account.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	wait := e.RetryAfter.Round(time.Second)
	if wait < time.Second {
		wait = time.Second
	}
	return fmt.Sprintf("too many failed sign-ins: try again in %s", wait)
}

// throttled is how long to wait before an attempt with these keys is
// heard: the longest wait of any of them, 0 when none holds.
func (s *Service) throttled(ctx context.Context, keys []string) (time.Duration, error) {
	now := s.now()
	var wait time.Duration
	for _, k := range keys {
		var retry sql.NullTime
		err := s.db.QueryRowContext(ctx, `SELECT retry_at FROM sign_in_failures WHERE key = $1 AND window_ends_at > $2`, k, now).Scan(&retry)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("users: reading sign-in failures: %w", err)
		}
		if retry.Valid && retry.Time.After(now) {
			wait = max(wait, retry.Time.Sub(now))
		}
	}
	return wait, nil
}

// failed counts a failure against every key, in one transaction per key so
// that web processes failing at once count each failure. A window starts
// with its first failure and lasts ThrottleWindow; from ThrottleFailures
// failures on, each failure sets a wait that doubles from ThrottleWait up
// to ThrottleMaxWait, and keeps the window open for ThrottleWindow past
// the end of that wait, so that guessing on does not start afresh.
func (s *Service) failed(ctx context.Context, keys []string) error {
	now := s.now()
	for _, k := range keys {
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sign_in_failures (key, failures, window_ends_at, updated_at)
				VALUES ($1, 0, $2, $3) ON CONFLICT (key) DO NOTHING`, k, now, now); err != nil {
				return err
			}
			var (
				failures int
				ends     time.Time
			)
			if err := tx.QueryRowContext(ctx, `SELECT failures, window_ends_at FROM sign_in_failures WHERE key = $1`+s.db.ForUpdate(), k).
				Scan(&failures, &ends); err != nil {
				return err
			}
			if !now.Before(ends) {
				failures, ends = 0, now.Add(s.o.ThrottleWindow)
			}
			failures++
			var retry sql.NullTime
			if failures >= s.o.ThrottleFailures {
				wait := s.o.ThrottleWait
				for range failures - s.o.ThrottleFailures {
					if wait *= 2; wait >= s.o.ThrottleMaxWait {
						break
					}
				}
				wait = min(wait, s.o.ThrottleMaxWait)
				retry = sql.NullTime{Time: now.Add(wait), Valid: true}
				ends = later(ends, retry.Time.Add(s.o.ThrottleWindow))
			}
			_, err := tx.ExecContext(ctx, `UPDATE sign_in_failures SET failures = $1, window_ends_at = $2, retry_at = $3, updated_at = $4 WHERE key = $5`,
				failures, ends, retry, now, k)
			return err
		})
		if err != nil {
			return fmt.Errorf("users: counting a failed sign-in: %w", err)
		}
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// succeeded clears the account's failures (not the address's: one good
// account must not clear the way for guessing at others).
func (s *Service) succeeded(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sign_in_failures WHERE key = $1`, key); err != nil {
		return fmt.Errorf("users: clearing failed sign-ins: %w", err)
	}
	return nil
}
