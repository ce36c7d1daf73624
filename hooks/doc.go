// Package hooks owns what flows out of Liaison because something happened:
// events in; action hooks, event webhooks and callbacks out. It keeps the
// events and their intake (event.go, intake.go), the matching of events to
// targets (match.go, targets.go), the JSON body templates of action hooks
// (template.go, template_path.go, jsonappend.go) and Standard Webhooks
// signing (signature.go).
//
// One engine delivers everything (engine.go): an event to an action hook,
// to a webhook endpoint, or to a callback URL that another package keeps
// (callback.go; the calls package's API calls send their results so). It
// sends through the machinery of package send: the request executor, the
// attempts table, the classification and the schedule, the per-target
// limits in Redis, the shares and the circuit breakers; asynq is only the
// timer. A connection's limits come through the Connections interface, a
// callback's URL and secret from its owner (CallbackTargets): hooks reads
// neither the connections table nor its callbacks' owners'.
//
// hooks never imports connections: requests leave through an outbound-client
// interface that hooks declares and connections satisfies.
//
// # Files
//
//   - service.go: the interfaces hooks declares (Sender, Connections, Queue,
//     CallbackTargets, Resumer), Options with its defaults, Service and
//     Intake with New and NewIntake.
//   - event.go: an event as taken (EventInput, Event), its checks and
//     GetEvent.
//   - intake.go: Ingest and IngestBatch: events and their deliveries stored
//     in batches (batch.go) and queued.
//   - batch.go: the batcher that joins concurrent calls into one statement.
//   - ownevents.go: Record, Liaison's own events (connection.*, delivery.*,
//     webhook.*, import.*) taken like any other.
//   - match.go: event types and patterns, filters and their matching.
//   - targets.go: the cache of enabled hooks and webhooks an event matches.
//   - hook.go: action hooks: model, validation, sealed headers and their
//     store (CreateHook … DeleteHook).
//   - webhook.go: event-webhook endpoints, their whsec_ secrets and
//     rotation.
//   - webhook_health.go: disabling an endpoint that keeps failing.
//   - template.go, template_path.go, jsonappend.go: body templates:
//     compile and render; the {{path}} lookup in an event; the JSON encoder
//     that renders write into.
//   - try.go: TryHook: render a hook against a sample or given event and
//     send it once.
//   - callback.go: callbacks to URLs that another package owns (API calls'
//     results): add, queue, status and removal.
//   - engine.go: the delivery loop: load a delivery, build its request
//     (hook, webhook or callback), send it, postpone for a limit or a
//     reconnection, finish.
//   - record.go: attempt records, written in batches.
//   - circuit.go: per-target circuit breakers and their events.
//   - delivery.go: deliveries as shown and filtered, retry, replay,
//     resumption after reconnection, the sweep of unqueued deliveries and
//     retention.
//   - schedule.go: the default retry schedule.
//   - signature.go: Standard Webhooks signing and verifying.
//   - query.go: a small helper for id lists in SQL.
package hooks
