package hooks

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Circuit breakers (the breaker itself is send.Breakers). A target that keeps timing out or refusing connections
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
//     CircuitCooldownMax). What goes to it waits, postponed: no
//     attempt is used. Then one request probes it; any answer closes the
//     circuit and wakes what waits, no answer opens it again.
//
// A target is what requests share: a webhook endpoint, an action hook
// without a connection, or a connection, whose hooks share its circuit with
// whatever else is sent through it (send.Breakers), as they share its limits. A callback goes to a URL of its
// owner's: it has a share (by host) but no circuit.

// Events of circuit breakers: <kind>.circuit_opened and <kind>.circuit_closed,
// where kind is webhook, hook or connection.
const (
	eventCircuitOpened = "circuit_opened"
	eventCircuitClosed = "circuit_closed"
)

// circuitKey names a delivery's target for its share and its breaker; the
// breaker is "" for a callback.
func circuitKey(l *loaded) (share, breaker string) {
	switch {
	case l.kind == "hook" && l.hConn.String != "":
		k := "connection:" + l.hConn.String
		return k, k
	case l.callback != nil:
		host := l.callback.URL
		if u, err := url.Parse(host); err == nil {
			host = u.Host
		}
		return "callback:" + host, ""
	}
	k := l.kind + ":" + l.targetID
	return k, k
}

// circuitOpened and circuitClosed are what a change of a circuit means
// beyond its row (send.Breakers): an event, and on closing, waking what
// waited.
func (s *Service) circuitOpened(ctx context.Context, key string, data map[string]any) error {
	return s.recordCircuitEvent(ctx, key, eventCircuitOpened, data)
}

func (s *Service) circuitClosed(ctx context.Context, key string) error {
	if err := s.wakeTarget(ctx, key); err != nil {
		return err
	}
	return s.recordCircuitEvent(ctx, key, eventCircuitClosed, map[string]any{})
}

// wakeTarget makes what is postponed for a target run now: its deliveries,
// and for a connection what Options.Resumer wakes.
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

// withCircuits shows each target of a listed page its circuit, read in one
// query: key names a target's circuit, set gives it.
func withCircuits[T any](ctx context.Context, s *Service, page []T, key func(*T) string, set func(*T, Circuit)) error {
	keys := make([]string, len(page))
	for i := range page {
		keys[i] = key(&page[i])
	}
	circuits, err := s.circuitsOf(ctx, keys)
	if err != nil {
		return err
	}
	for i := range page {
		set(&page[i], circuits[keys[i]])
	}
	return nil
}

// circuitsOf reads the circuits of many targets at once, by key.
func (s *Service) circuitsOf(ctx context.Context, keys []string) (map[string]Circuit, error) {
	return s.breakers.Of(ctx, keys)
}

func (s *Service) circuitOfKey(ctx context.Context, key string) (Circuit, error) {
	return s.breakers.OfKey(ctx, key)
}
