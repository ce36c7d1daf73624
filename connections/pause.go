package connections

import (
	"context"
	"errors"
	"fmt"

	"github.com/liaison/liaison/internal/retry"
)

// ErrPaused: a person paused the connection; errors that wrap it are also
// a *retry.Later.
var ErrPaused = errors.New("connections: connection is paused")

// EventPaused is recorded when a connection is paused. Its data:
// connection_id, name, auth_type.
const EventPaused = "connection.paused"

// EventResumed is recorded when a paused connection is resumed; like
// EventConnected, it wakes the work that waited for the connection. Its
// data: connection_id, name, auth_type.
const EventResumed = "connection.resumed"

// PausedError says nothing was sent because the connection is paused.
// Work that gets it is postponed, not failed, and uses no attempt: it is a
// *retry.Later (errors.As) with no wait of its own, and errors.Is(err,
// ErrPaused). Resuming the connection wakes it (connection.resumed).
type PausedError struct {
	ConnectionID string
}

func (e *PausedError) Error() string {
	return fmt.Sprintf("connection %s is paused", e.ConnectionID)
}

// As makes errors.As(err, &later) true for a *retry.Later, whose Reason
// says the connection is paused.
func (e *PausedError) As(target any) bool {
	if l, ok := target.(**retry.Later); ok {
		*l = &retry.Later{Reason: e.Error()}
		return true
	}
	return false
}

// Is makes errors.Is(err, ErrPaused) true.
func (e *PausedError) Is(target error) bool { return target == ErrPaused }

// Pause stops every request through the connection, for when the other
// service is down or misbehaving: Do answers *PausedError, so hook
// deliveries, API calls and imports through it wait, with no attempt used,
// and the sweep leaves its token be. The connection keeps its status and
// tokens. Test and Refresh still work on a paused connection: they are a
// person checking it. Pausing a paused connection changes nothing; either
// way the answer is the connection.
func (s *Service) Pause(ctx context.Context, id string) (View, error) {
	return s.setPaused(ctx, id, true)
}

// Resume lets requests through the paused connection again and wakes the
// work that waited for it (connection.resumed), so that it goes now rather
// than at its next check. Resuming a running connection changes nothing.
func (s *Service) Resume(ctx context.Context, id string) (View, error) {
	return s.setPaused(ctx, id, false)
}

func (s *Service) setPaused(ctx context.Context, id string, pause bool) (View, error) {
	now := s.now()
	query := `UPDATE connections SET paused_at = $1, updated_at = $1 WHERE id = $2 AND paused_at IS NULL`
	args := []any{now, id}
	if !pause {
		query = `UPDATE connections SET paused_at = NULL, updated_at = $1 WHERE id = $2 AND paused_at IS NOT NULL`
	}
	changed, err := s.updateOne(ctx, query, args...)
	if err != nil {
		return View{}, fmt.Errorf("pausing or resuming connection %s: %w", id, err)
	}
	c, err := s.load(ctx, id)
	if err != nil {
		return View{}, err
	}
	if changed {
		event, verb := EventPaused, "connection paused"
		if !pause {
			event, verb = EventResumed, "connection resumed"
		}
		s.opts.Log.InfoContext(ctx, verb, "connection_id", id)
		s.record(ctx, event, map[string]any{"connection_id": c.ID, "name": c.Name, "auth_type": c.AuthType})
	}
	return s.view(c), nil
}
