package hooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/liaison/liaison/internal/db"
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

// Events of circuit breakers: <kind>.circuit_opened and <kind>.circuit_closed,
// where kind is webhook, hook or connection.
const (
	eventCircuitOpened = "circuit_opened"
	eventCircuitClosed = "circuit_closed"
)

// circuitRow is a target's circuit as a delivery or a call loads it; all
// NULL when the target has none (closed, no failures).
type circuitRow struct {
	failures, opens     sql.NullInt64
	retryAt, probeUntil sql.NullTime
	openedAt            sql.NullTime
	lastError           sql.NullString
}

// circuitColumns and circuitJoin read a circuit beside a delivery or a call.
const circuitColumns = `ci.failures, ci.opens, ci.retry_at, ci.probe_until, ci.opened_at, ci.last_error`

func (r *circuitRow) scanArgs() []any {
	return []any{&r.failures, &r.opens, &r.retryAt, &r.probeUntil, &r.openedAt, &r.lastError}
}

func (r circuitRow) exists() bool { return r.failures.Valid }

// state is what the API shows.
func (r circuitRow) state(now time.Time) Circuit {
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

// circuitKey names a delivery's target for its share and its breaker; the
// breaker is "" for a call's callback.
func circuitKey(l *loaded) (share, breaker string) {
	switch {
	case l.kind == "hook" && l.hConn.String != "":
		k := "connection:" + l.hConn.String
		return k, k
	case l.kind == "call":
		host := l.cURL.String
		if u, err := url.Parse(host); err == nil {
			host = u.Host
		}
		return "callback:" + host, ""
	}
	k := l.kind + ":" + l.targetID
	return k, k
}

// gate is what the breaker says of a request about to go.
type gate struct {
	// wait > 0: the circuit is open (or another request probes it); come
	// back after wait.
	wait time.Duration
	// probe: this request is the one that tries the target again.
	probe bool
	why   string
}

// admit consults a target's circuit before a request goes. probeFor bounds
// how long a probe may take (the request's timeout).
func (s *Service) admit(ctx context.Context, key string, c circuitRow, probeFor time.Duration) (gate, error) {
	if key == "" || !c.exists() || !c.retryAt.Valid {
		return gate{}, nil
	}
	now := s.now()
	why := fmt.Sprintf("paused: the target got no answer %d times in a row (%s)", c.failures.Int64, c.lastError.String)
	if now.Before(c.retryAt.Time) {
		return gate{wait: spread(c.retryAt.Time.Sub(now)), why: why}, nil
	}
	if c.probeUntil.Valid && now.Before(c.probeUntil.Time) {
		return gate{wait: spread(c.probeUntil.Time.Sub(now)), why: why}, nil
	}
	res, err := s.opts.DB.ExecContext(ctx, `UPDATE circuits SET probe_until = $2, updated_at = $3
		WHERE target = $1 AND retry_at <= $3 AND (probe_until IS NULL OR probe_until < $3)`, key, now.Add(probeFor+time.Second), now)
	if err != nil {
		return gate{}, fmt.Errorf("probing the circuit of %s: %w", key, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return gate{probe: true}, nil
	}
	// Another request took the probe, or it closed a moment ago (then the
	// close wakes this one).
	return gate{wait: spread(probeFor + time.Second), why: why}, nil
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
func noAnswer(x exchanged) bool {
	return x.a.Status == 0 && x.err != nil && x.reauth == nil && !errors.Is(x.err, ErrPermanent)
}

// observeCircuit counts an exchange into its target's circuit: an answer
// closes it (if it had failures), no answer counts a failure and opens it
// at the threshold, or again after a failed probe.
func (s *Service) observeCircuit(ctx context.Context, key string, c circuitRow, g gate, x exchanged) {
	if key == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	var err error
	switch {
	case !noAnswer(x):
		if c.exists() || g.probe {
			err = s.closeCircuit(ctx, key)
		}
	default:
		err = s.failCircuit(ctx, key, x.a.Error, g.probe)
	}
	if err != nil {
		s.opts.Log.ErrorContext(ctx, "keeping a circuit breaker", "target", key, "error", err)
	}
}

func (s *Service) failCircuit(ctx context.Context, key, why string, probe bool) error {
	now := s.now()
	var (
		failures, opens int
		retryAt         sql.NullTime
	)
	err := s.opts.DB.QueryRowContext(ctx, `INSERT INTO circuits (target, failures, last_error, updated_at) VALUES ($1, 1, $2, $3)
		ON CONFLICT (target) DO UPDATE SET failures = circuits.failures + 1, last_error = $2, updated_at = $3
		RETURNING failures, opens, retry_at`, key, why, now).Scan(&failures, &opens, &retryAt)
	if err != nil {
		return fmt.Errorf("counting a failure: %w", err)
	}
	open := retryAt.Valid && now.Before(retryAt.Time)
	if open || (failures < s.opts.CircuitFailures && !probe) {
		return nil
	}
	wait := s.opts.CircuitCooldown << min(opens, 20)
	wait = min(wait, s.opts.CircuitCooldownMax)
	res, err := s.opts.DB.ExecContext(ctx, `UPDATE circuits SET opens = opens + 1, retry_at = $2, probe_until = NULL, updated_at = $3,
		opened_at = CASE WHEN opens = 0 THEN $3 ELSE opened_at END
		WHERE target = $1 AND (retry_at IS NULL OR retry_at <= $3)`, key, now.Add(wait), now)
	if err != nil {
		return fmt.Errorf("opening: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 || opens > 0 {
		return nil // opened by another worker, or again after a failed probe: said already
	}
	s.opts.Log.WarnContext(ctx, "circuit opened: nothing is sent to the target for a while", "target", key, "failures", failures, "retry_in", wait.String(), "last_error", why)
	return s.recordCircuitEvent(ctx, key, eventCircuitOpened, map[string]any{
		"failures": failures, "last_error": why, "retry_at": now.Add(wait).Format(time.RFC3339Nano),
	})
}

// closeCircuit forgets a target's failures; when the circuit had opened, it
// says so and wakes what waited for it.
func (s *Service) closeCircuit(ctx context.Context, key string) error {
	var opens int
	err := s.opts.DB.QueryRowContext(ctx, `DELETE FROM circuits WHERE target = $1 RETURNING opens`, key).Scan(&opens)
	if errors.Is(err, db.ErrNoRows) || (err == nil && opens == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	s.opts.Log.InfoContext(ctx, "circuit closed: the target answers again", "target", key)
	if err := s.wakeTarget(ctx, key); err != nil {
		return err
	}
	return s.recordCircuitEvent(ctx, key, eventCircuitClosed, map[string]any{})
}

// wakeTarget makes the deliveries and calls postponed for a target run now.
func (s *Service) wakeTarget(ctx context.Context, key string) error {
	kind, id, _ := strings.Cut(key, ":")
	if kind == "connection" {
		return s.ResumeConnection(ctx, id)
	}
	ids, err := s.ids(ctx, `SELECT id FROM deliveries WHERE status = $1 AND target_kind = $2 AND target_id = $3`, statusPostponed, kind, id)
	if err != nil {
		return fmt.Errorf("finding deliveries waiting for %s: %w", key, err)
	}
	if len(ids) == 0 {
		return nil
	}
	return s.opts.Queue.RunDeliveriesNow(ctx, ids)
}

func (s *Service) recordCircuitEvent(ctx context.Context, key, what string, data map[string]any) error {
	kind, id, _ := strings.Cut(key, ":")
	data["target_kind"], data[kind+"_id"] = kind, id
	return s.Record(ctx, kind+"."+what, data)
}

// ConnectionCircuits are the circuits of a page of connections, by id.
func (s *Service) ConnectionCircuits(ctx context.Context, ids []string) (map[string]Circuit, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = "connection:" + id
	}
	byKey, err := s.circuitsOf(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Circuit, len(ids))
	for i, id := range ids {
		out[id] = byKey[keys[i]]
	}
	return out, nil
}

// hookCircuitKey is the breaker an action hook's deliveries go through:
// its connection's, when it has one (as circuitKey says of a delivery).
func hookCircuitKey(h *Hook) string {
	if h.ConnectionID != "" {
		return "connection:" + h.ConnectionID
	}
	return "hook:" + h.ID
}

// circuitsOf reads the circuits of many targets at once (a page of a
// list), by key; a target without a row is closed.
func (s *Service) circuitsOf(ctx context.Context, keys []string) (map[string]Circuit, error) {
	out := make(map[string]Circuit, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
		out[k] = Circuit{State: CircuitClosed}
	}
	rows, err := s.opts.DB.QueryContext(ctx, `SELECT ci.target, `+circuitColumns+` FROM circuits ci WHERE ci.target IN (`+db.Placeholders(1, len(keys))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading circuits: %w", err)
	}
	defer rows.Close()
	now := s.now()
	for rows.Next() {
		var (
			key string
			c   circuitRow
		)
		if err := rows.Scan(append([]any{&key}, c.scanArgs()...)...); err != nil {
			return nil, fmt.Errorf("reading circuits: %w", err)
		}
		out[key] = c.state(now)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading circuits: %w", err)
	}
	return out, nil
}

func (s *Service) circuitOfKey(ctx context.Context, key string) (Circuit, error) {
	var c circuitRow
	err := s.opts.DB.QueryRowContext(ctx, `SELECT `+circuitColumns+` FROM circuits ci WHERE ci.target = $1`, key).Scan(c.scanArgs()...)
	if err != nil && !errors.Is(err, db.ErrNoRows) {
		return Circuit{}, fmt.Errorf("reading the circuit of %s: %w", key, err)
	}
	return c.state(s.now()), nil
}
