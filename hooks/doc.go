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
package hooks
