package send

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/retry"
)

// Circuit breakers. A target that keeps timing out or refusing connections
// holds a worker's delivery slots for nothing, and every other target waits
// behind it (one customer's broken CRM delaying everyone's hooks). Two
// things stop that:
//
//   - a share: one target may have at most TargetConcurrency requests under
//     way in one process (share.go), whatever else is queued;
//   - a breaker per target, kept in the circuits table so that every worker
//     sees it and the API can show it: after CircuitFailures attempts in a
//     row that got no answer at all (a timeout, a refused or failed
//     connection), the circuit opens and nothing is sent to the target for
//     CircuitCooldown (doubled at each opening in a row, up to
//     CircuitCooldownMax). Its deliveries and calls wait, postponed: no
//     attempt is used. Then one request probes it; any answer closes the
//     circuit and wakes what waits, no answer opens it again.
//
// A target is what requests share: a webhook endpoint, an action hook
// without a connection, or a connection, whose hooks and API calls share
// its circuit as they share its limits. A call's callback goes to a URL of
// the call's own: it has a share (by host) but no circuit.

// Circuit states, as the API shows them.
const (
	CircuitClosed   = "closed"
	CircuitOpen     = "open"
	CircuitHalfOpen = "half_open" // a probe may go, or is under way
)

// Circuit is the state of a target's circuit breaker.
type Circuit struct {
	State string `json:"state"`
	// Failures counts the attempts in a row that got no answer.
	Failures int `json:"failures"`
	// OpenedAt is when the circuit first opened in this run of openings.
	OpenedAt *time.Time `json:"opened_at,omitempty"`
	// RetryAt is when the next probe may go, while open.
	RetryAt   *time.Time `json:"retry_at,omitempty"`
	LastError string     `json:"last_error,omitempty"`
}

// CircuitRow is a target's circuit as a delivery or a call loads it
// (CircuitColumns, from circuits ci, into ScanArgs); all NULL when the
// target has none (closed, no failures).
type CircuitRow struct {
	failures, opens     sql.NullInt64
	retryAt, probeUntil sql.NullTime
	openedAt            sql.NullTime
	lastError           sql.NullString
}

// CircuitColumns read a circuit (circuits ci) beside a delivery or a call.
const CircuitColumns = `ci.failures, ci.opens, ci.retry_at, ci.probe_until, ci.opened_at, ci.last_error`

// ScanArgs are where a row of CircuitColumns is scanned.
func (r *CircuitRow) ScanArgs() []any {
	return []any{&r.failures, &r.opens, &r.retryAt, &r.probeUntil, &r.openedAt, &r.lastError}
}

func (r CircuitRow) exists() bool { return r.failures.Valid }

// state is what the API shows.
func (r CircuitRow) state(now time.Time) Circuit {
	c := Circuit{State: CircuitClosed}
	if !r.exists() {
		return c
	}
	c.Failures, c.LastError = int(r.failures.Int64), r.lastError.String
	if r.retryAt.Valid {
		c.State = CircuitOpen
		if !now.Before(r.retryAt.Time) {
			c.State = CircuitHalfOpen
		}
		at, opened := r.retryAt.Time.UTC(), r.openedAt.Time.UTC()
		c.RetryAt, c.OpenedAt = &at, &opened
	}
	return c
}

// Breakers keep the circuits of every target in the circuits table. What a
// change means beyond the table (an event, waking what waited) is the
// owner's: Opened and Closed.
type Breakers struct {
	DB *db.DB
	// Now is the clock, truncated as the owner stores times.
	Now func() time.Time
	Log *slog.Logger
	// Failures, Cooldown and CooldownMax: see hooks.Options.CircuitFailures.
	Failures              int
	Cooldown, CooldownMax time.Duration
	// Opened is told when a circuit first opens in a run of openings, with
	// what the event circuit_opened says; Closed when one that had opened
	// closes. Either may be nil.
	Opened func(ctx context.Context, key string, data map[string]any) error
	Closed func(ctx context.Context, key string) error
}

// Gate is what the breaker says of a request about to go.
type Gate struct {
	// Wait > 0: the circuit is open (or another request probes it); come
	// back after Wait.
	Wait time.Duration
	// Probe: this request is the one that tries the target again.
	Probe bool
	Why   string
}

// Admit consults a target's circuit before a request goes. probeFor bounds
// how long a probe may take (the request's timeout). key "" has no circuit.
func (s *Breakers) Admit(ctx context.Context, key string, c CircuitRow, probeFor time.Duration) (Gate, error) {
	if key == "" || !c.exists() || !c.retryAt.Valid {
		return Gate{}, nil
	}
	now := s.Now()
	why := fmt.Sprintf("paused: the target got no answer %d times in a row (%s)", c.failures.Int64, c.lastError.String)
	if now.Before(c.retryAt.Time) {
		return Gate{Wait: spread(c.retryAt.Time.Sub(now)), Why: why}, nil
	}
	if c.probeUntil.Valid && now.Before(c.probeUntil.Time) {
		return Gate{Wait: spread(c.probeUntil.Time.Sub(now)), Why: why}, nil
	}
	res, err := s.DB.ExecContext(ctx, `UPDATE circuits SET probe_until = $2, updated_at = $3
		WHERE target = $1 AND retry_at <= $3 AND (probe_until IS NULL OR probe_until < $3)`, key, now.Add(probeFor+time.Second), now)
	if err != nil {
		return Gate{}, fmt.Errorf("probing the circuit of %s: %w", key, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return Gate{Probe: true}, nil
	}
	// Another request took the probe, or it closed a moment ago (then the
	// close wakes this one).
	return Gate{Wait: spread(probeFor + time.Second), Why: why}, nil
}

// spread lengthens a wait by up to a tenth (at most 5 s), so that what
// waits for one moment does not all come back at once.
func spread(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(min(d/10, 5*time.Second))+1))
}

// noAnswer says whether an exchange got no answer at all in a way that
// counts against the target's circuit: a timeout or a failed connection.
// Refusals before sending (a blocked address, a host outside the
// connection's) are the request's fault, not the target's.
func noAnswer(x Exchanged) bool {
	return x.Attempt.Status == 0 && x.Err != nil && x.Later == nil && !errors.Is(x.Err, retry.ErrNever)
}

// Observe counts an exchange into its target's circuit: an answer
// closes it (if it had failures), no answer counts a failure and opens it
// at the threshold, or again after a failed probe.
func (s *Breakers) Observe(ctx context.Context, key string, c CircuitRow, g Gate, x Exchanged) {
	if key == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	var err error
	switch {
	case !noAnswer(x):
		if c.exists() || g.Probe {
			err = s.close(ctx, key)
		}
	default:
		err = s.fail(ctx, key, x.Attempt.Error, g.Probe)
	}
	if err != nil {
		s.Log.ErrorContext(ctx, "keeping a circuit breaker", "target", key, "error", err)
	}
}

func (s *Breakers) fail(ctx context.Context, key, why string, probe bool) error {
	now := s.Now()
	var (
		failures, opens int
		retryAt         sql.NullTime
	)
	err := s.DB.QueryRowContext(ctx, `INSERT INTO circuits (target, failures, last_error, updated_at) VALUES ($1, 1, $2, $3)
		ON CONFLICT (target) DO UPDATE SET failures = circuits.failures + 1, last_error = $2, updated_at = $3
		RETURNING failures, opens, retry_at`, key, why, now).Scan(&failures, &opens, &retryAt)
	if err != nil {
		return fmt.Errorf("counting a failure: %w", err)
	}
	open := retryAt.Valid && now.Before(retryAt.Time)
	if open || (failures < s.Failures && !probe) {
		return nil
	}
	wait := s.Cooldown << min(opens, 20)
	wait = min(wait, s.CooldownMax)
	res, err := s.DB.ExecContext(ctx, `UPDATE circuits SET opens = opens + 1, retry_at = $2, probe_until = NULL, updated_at = $3,
		opened_at = CASE WHEN opens = 0 THEN $3 ELSE opened_at END
		WHERE target = $1 AND (retry_at IS NULL OR retry_at <= $3)`, key, now.Add(wait), now)
	if err != nil {
		return fmt.Errorf("opening: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 || opens > 0 {
		return nil // opened by another worker, or again after a failed probe: said already
	}
	s.Log.WarnContext(ctx, "circuit opened: nothing is sent to the target for a while", "target", key, "failures", failures, "retry_in", wait.String(), "last_error", why)
	if s.Opened == nil {
		return nil
	}
	return s.Opened(ctx, key, map[string]any{
		"failures": failures, "last_error": why, "retry_at": now.Add(wait).Format(time.RFC3339Nano),
	})
}

// close forgets a target's failures; when the circuit had opened, it says
// so (Closed, which wakes what waited for it).
func (s *Breakers) close(ctx context.Context, key string) error {
	var opens int
	err := s.DB.QueryRowContext(ctx, `DELETE FROM circuits WHERE target = $1 RETURNING opens`, key).Scan(&opens)
	if errors.Is(err, db.ErrNoRows) || (err == nil && opens == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	s.Log.InfoContext(ctx, "circuit closed: the target answers again", "target", key)
	if s.Closed == nil {
		return nil
	}
	return s.Closed(ctx, key)
}

// Of reads the circuits of many targets at once (a page of a list), by
// key; a target without a row is closed.
func (s *Breakers) Of(ctx context.Context, keys []string) (map[string]Circuit, error) {
	out := make(map[string]Circuit, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
		out[k] = Circuit{State: CircuitClosed}
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT ci.target, `+CircuitColumns+` FROM circuits ci WHERE ci.target IN (`+db.Placeholders(1, len(keys))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading circuits: %w", err)
	}
	defer rows.Close()
	now := s.Now()
	for rows.Next() {
		var (
			key string
			c   CircuitRow
		)
		if err := rows.Scan(append([]any{&key}, c.ScanArgs()...)...); err != nil {
			return nil, fmt.Errorf("reading circuits: %w", err)
		}
		out[key] = c.state(now)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading circuits: %w", err)
	}
	return out, nil
}

// OfKey reads one target's circuit.
func (s *Breakers) OfKey(ctx context.Context, key string) (Circuit, error) {
	var c CircuitRow
	err := s.DB.QueryRowContext(ctx, `SELECT `+CircuitColumns+` FROM circuits ci WHERE ci.target = $1`, key).Scan(c.ScanArgs()...)
	if err != nil && !errors.Is(err, db.ErrNoRows) {
		return Circuit{}, fmt.Errorf("reading the circuit of %s: %w", key, err)
	}
	return c.state(s.Now()), nil
}
