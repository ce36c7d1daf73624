package main

import (
	"context"
	"fmt"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/metrics"
	"github.com/liaison/liaison/internal/secret"
	"github.com/liaison/liaison/jobs"
)

// connections sends every request of the delivery engine; hooks declares
// what it needs and never imports connections.
var (
	_ hooks.Sender      = (*connections.Service)(nil)
	_ hooks.Connections = (*connections.Service)(nil)
)

// ownEvents records Liaison's own events (connection.needs_reauth,
// import.completed…) through the delivery engine, so they reach subscribed
// webhooks. It exists because connections is built before the engine that
// sends through it: the engine is set once both exist.
type ownEvents struct{ hooks *hooks.Service }

var (
	_ connections.EventRecorder = (*ownEvents)(nil)
	_ importer.Events           = (*ownEvents)(nil)
	_ hooks.Queue               = (*jobs.Client)(nil)
)

func (o *ownEvents) Record(ctx context.Context, eventType string, data map[string]any) error {
	if o.hooks == nil {
		return fmt.Errorf("recording %s: the delivery engine is not ready", eventType)
	}
	return o.hooks.Record(ctx, eventType, data)
}

// openHooks builds the delivery engine on the process's parts.
func (e *environment) openHooks(d *db.DB, r *jobs.Redis, ring *secret.Ring, sender hooks.Sender, q hooks.Queue, m *metrics.Metrics) (*hooks.Service, error) {
	return hooks.New(hooks.Options{
		DB: d, Redis: r.UniversalClient, Ring: ring, Sender: sender, Queue: q,
		Log:             e.log.With("component", "hooks"),
		Schedule:        hooks.Schedule(e.cfg.DeliverySchedule),
		CallSchedule:    hooks.Schedule(e.cfg.CallSchedule),
		RotationOverlap: e.cfg.WebhookRotationOverlap,
		DisableAfter:    e.cfg.WebhookDisableAfter,
		Retention:       e.cfg.DeliveryRetention,
		CallRetention:   e.cfg.CallRetention,
		ObserveAttempt:  m.ObserveAttempt,
		// One target may hold a quarter of a worker's slots (share.go).
		TargetConcurrency:     max(1, e.cfg.DeliveryConcurrency/4),
		CallTargetConcurrency: max(1, e.cfg.WorkerConcurrency/4),
	})
}
