package hooks

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/liaison/liaison/hooks/send"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/id"
	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/jsoncheck"
)

// EventInput is an event as the platform reports it.
type EventInput struct {
	// ID makes intake idempotent: the same id again creates nothing new.
	// Optional; one is made when it is missing.
	ID   string `json:"id"`
	Type string `json:"type"`
	// OccurredAt defaults to the time of intake.
	OccurredAt *time.Time      `json:"occurred_at,omitempty"`
	Profile    json.RawMessage `json:"profile,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
}

// Event is a stored event.
type Event struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurred_at"`
	ReceivedAt time.Time       `json:"received_at"`
	Source     string          `json:"source"`
	Profile    json.RawMessage `json:"profile"`
	Data       json.RawMessage `json:"data"`
}

// Limits of intake.
const (
	MaxBatch        = 1000
	maxObjectBytes  = 256 << 10
	maxObjectDepth  = 32
	maxFutureSkew   = time.Hour
	sourceAPI       = "api"
	sourceLiaison   = "liaison"
	statusPending   = "pending"
	statusRetrying  = send.StatusRetrying
	statusPostponed = "postponed"
	statusSucceeded = send.StatusSucceeded
	statusFailed    = send.StatusFailed
)

var validEventID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// prepared is a validated event, ready to store.
type prepared struct {
	Event
	scope Scope
}

// check validates one event, prefixing field names with prefix.
func (s *Intake) check(in EventInput, now time.Time, errs *invalid.Error, prefix string) *prepared {
	n := len(errs.Fields)
	p := &prepared{Event: Event{ID: in.ID, Type: in.Type, ReceivedAt: now, Source: sourceAPI}}
	if p.ID == "" {
		p.ID = id.NewHex("evt_")
	} else if !validEventID.MatchString(p.ID) {
		errs.Add(prefix+"id", "must be 1 to 128 letters, digits or . _ : -")
	}
	if !ValidEventType(in.Type) {
		errs.Add(prefix+"type", `must be lower-case dotted words, e.g. "email.opened" (at most %d characters)`, MaxEventTypeLength)
	}
	switch {
	case in.OccurredAt == nil:
		p.OccurredAt = now
	case in.OccurredAt.After(now.Add(maxFutureSkew)):
		errs.Add(prefix+"occurred_at", "is more than %s in the future", maxFutureSkew)
	case in.OccurredAt.Before(now.Add(-s.opts.Retention)):
		errs.Add(prefix+"occurred_at", "is older than the retention of %s", s.opts.Retention)
	default:
		p.OccurredAt = in.OccurredAt.UTC().Truncate(time.Microsecond)
	}
	var err error
	if p.Profile, p.scope.Profile, err = checkObject(in.Profile); err != nil {
		errs.Add(prefix+"profile", "%s", err.Error())
	}
	if p.Data, p.scope.Data, err = checkObject(in.Data); err != nil {
		errs.Add(prefix+"data", "%s", err.Error())
	}
	if len(errs.Fields) > n {
		return nil
	}
	p.scope.Event = EventInfo{ID: p.ID, Type: p.Type, OccurredAt: p.OccurredAt}
	return p
}

// checkObject accepts a JSON object (or nothing, or null, as {}), within
// size and depth limits, and decodes it with numbers kept exact.
func checkObject(raw json.RawMessage) (json.RawMessage, map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}"), map[string]any{}, nil
	}
	if len(raw) > maxObjectBytes {
		return nil, nil, fmt.Errorf("is larger than %d bytes", maxObjectBytes)
	}
	if raw[0] != '{' {
		return nil, nil, errors.New("must be a JSON object")
	}
	if d := jsonDepth(raw); d > maxObjectDepth {
		return nil, nil, fmt.Errorf("is nested %d levels deep; at most %d", d, maxObjectDepth)
	}
	m, err := DecodeObject(raw)
	if err != nil {
		return nil, nil, errors.New("must be a JSON object")
	}
	if flaw := jsoncheck.Check(raw, jsoncheck.JSONB); flaw != nil {
		return nil, nil, flaw
	}
	return raw, m, nil
}

// jsonDepth is the deepest nesting of objects and arrays in raw, read
// without decoding (so a hostile depth costs nothing).
func jsonDepth(raw []byte) int {
	depth, deepest, inString, escaped := 0, 0, false, false
	for _, c := range raw {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// GetEvent returns an event and its deliveries.
func (s *Service) GetEvent(ctx context.Context, id string) (Event, []Delivery, error) {
	var (
		e             Event
		profile, data sql.NullString
	)
	err := s.opts.DB.QueryRowContext(ctx, `SELECT id, type, occurred_at, received_at, source, profile, data FROM events WHERE id = $1`, id).
		Scan(&e.ID, &e.Type, &e.OccurredAt, &e.ReceivedAt, &e.Source, &profile, &data)
	if errors.Is(err, db.ErrNoRows) {
		return Event{}, nil, notFound("event", id)
	}
	if err != nil {
		return Event{}, nil, fmt.Errorf("reading event %s: %w", id, err)
	}
	e.OccurredAt, e.ReceivedAt = e.OccurredAt.UTC(), e.ReceivedAt.UTC()
	e.Profile, e.Data = rawOrEmpty(profile), rawOrEmpty(data)
	ds, _, err := s.Deliveries(ctx, DeliveryFilter{EventID: id, Limit: 1000})
	if err != nil {
		return Event{}, nil, err
	}
	return e, ds, nil
}

func rawOrEmpty(s sql.NullString) json.RawMessage {
	if !s.Valid || s.String == "" {
		return json.RawMessage("{}")
	}
	return json.RawMessage(s.String)
}
