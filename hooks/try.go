package hooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/liaison/liaison/hooks/send"
	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/retry"
)

// TryInput is POST /v1/hooks/{id}/test: render the hook against an event
// (a sample one when none is given) and, with Send, send it once.
type TryInput struct {
	Event *EventInput `json:"event,omitempty"`
	Send  bool        `json:"send"`
}

// TryResult shows what the hook would send, and what came back when it
// was sent. Nothing is stored: it is neither a delivery nor an attempt.
type TryResult struct {
	Event EventInput `json:"event"`
	// Matches says whether the event's type and the hook's filter select
	// the event; the hook renders and sends anyway.
	Matches bool    `json:"matches"`
	Request Attempt `json:"request"`
	// Body is the rendered body as JSON, when it rendered.
	Body json.RawMessage `json:"body,omitempty"`
	// Error is why the body did not render ("profile.email has no value"),
	// or why the request failed.
	Error string `json:"error,omitempty"`
	// Sent, send.Outcome: whether it was sent and how the answer classifies.
	Sent    bool   `json:"sent"`
	Outcome string `json:"outcome,omitempty"`
}

// SampleEvent is what a hook test renders against when it is given none.
func SampleEvent(eventType string, now time.Time) EventInput {
	t := now.UTC().Truncate(time.Second)
	return EventInput{
		ID: "evt_sample", Type: eventType, OccurredAt: &t,
		Profile: json.RawMessage(`{"email":"ada@example.com","first_name":"Ada","last_name":"Lovelace","phone":"+15550100","age":36,"subscribed":true,"tags":["vip","beta"]}`),
		Data:    json.RawMessage(`{"campaign_id":42,"link":"https://example.com/offer?utm_source=liaison","subject":"Hello \"Ada\""}`),
	}
}

// TryHook renders a hook against an event and, when asked, sends it once.
func (s *Service) TryHook(ctx context.Context, id string, in TryInput) (TryResult, error) {
	h, err := s.Hook(ctx, id)
	if err != nil {
		return TryResult{}, err
	}
	ev := in.Event
	if ev == nil {
		sampleType := "sample.event"
		for _, t := range h.EventTypes {
			if ValidEventType(t) {
				sampleType = t
				break
			}
		}
		e := SampleEvent(sampleType, s.now())
		ev = &e
	}
	var errs invalid.Error
	p := s.check(*ev, s.now(), &errs, "event.")
	if err := errs.Err(); err != nil {
		return TryResult{}, err
	}
	res := TryResult{Event: *ev, Matches: MatchType(h.EventTypes, p.Type) && (h.Filter == nil || h.Filter.Match(p.scope))}
	l := &loaded{
		id: "dlv_test_" + h.ID, kind: "hook", targetID: h.ID, eventID: p.ID, eventType: p.Type, occurredAt: p.OccurredAt,
		profile: sql.NullString{String: string(p.Profile), Valid: true}, data: sql.NullString{String: string(p.Data), Valid: true},
		hVersion: sql.NullInt64{Int64: h.version, Valid: true}, hConn: sql.NullString{String: h.ConnectionID, Valid: true},
		hMethod: sql.NullString{String: h.Method, Valid: true}, hURL: sql.NullString{String: h.URL, Valid: true},
		hHeaders: sql.NullString{String: jsonText(h.Headers), Valid: true}, hBody: sql.NullString{String: string(h.Body), Valid: true},
		hMi: sql.NullString{String: h.Missing.String(), Valid: true}, hTimeout: sql.NullInt64{Int64: int64(h.TimeoutMS), Valid: true},
		hMaxAttempts: sql.NullInt64{Int64: int64(h.MaxAttempts), Valid: true},
	}
	out, _, err := s.hookRequest(l)
	res.Request = Attempt{Number: 1, StartedAt: s.now(), Method: out.Method, URL: out.URL, RequestHeaders: send.RedactHeaders(out.Header),
		RequestBody: send.Excerpt(out.Body), ResponseHeaders: map[string]string{}}
	if err != nil {
		if !errors.Is(err, retry.ErrNever) {
			return TryResult{}, err
		}
		res.Error = send.PlainError(err, out.Timeout)
		return res, nil
	}
	if out.Body != nil {
		res.Body = json.RawMessage(out.Body)
	}
	if !in.Send {
		return res, nil
	}
	start := time.Now()
	_, err = send.Send(ctx, s.opts.Sender, out, &res.Request, send.MaxStoredBody)
	res.Request.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	res.Sent = err == nil
	if err != nil {
		res.Error = send.PlainError(err, out.Timeout)
	}
	outcome := send.Classify(res.Request.Status, err, send.TargetHook, h.Retry4xx)
	res.Outcome = outcome.String()
	res.Request.Outcome = res.Outcome
	return res, nil
}
