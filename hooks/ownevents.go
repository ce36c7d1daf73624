package hooks

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/liaison/liaison/internal/id"
)

// Record is Liaison's own event recorder (connections.EventRecorder):
// connection.needs_reauth, delivery.failed, webhook.disabled,
// import.completed and import.failed go out to subscribed webhooks through
// the same path as platform events. connection.connected and
// connection.resumed also wake the work that waits for that connection.
func (s *Intake) Record(ctx context.Context, eventType string, data map[string]any) error {
	if !ValidEventType(eventType) {
		return fmt.Errorf("recording event: %q is not an event type", eventType)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encoding event %s: %w", eventType, err)
	}
	now := s.now()
	p := &prepared{Event: Event{ID: id.NewHex("evt_"), Type: eventType, OccurredAt: now, ReceivedAt: now, Source: sourceLiaison, Profile: json.RawMessage("{}"), Data: raw}}
	if _, err := s.ingest(ctx, []*prepared{p}, true); err != nil {
		return fmt.Errorf("recording event %s: %w", eventType, err)
	}
	if eventType == EventConnectionConnected || eventType == EventConnectionResumed {
		if id, _ := data["connection_id"].(string); id != "" {
			return s.ResumeConnection(ctx, id)
		}
	}
	return nil
}

// Liaison's own event types.
const (
	EventDeliveryFailed      = "delivery.failed"
	EventWebhookDisabled     = "webhook.disabled"
	EventConnectionConnected = "connection.connected"
	EventConnectionResumed   = "connection.resumed"
)
