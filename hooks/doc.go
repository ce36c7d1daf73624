// Package hooks owns what flows out of Liaison because something happened:
// events in; action hooks, event webhooks and API-call nodes out. It keeps
// the events and their intake (event.go, intake.go), the matching of events
// to targets (match.go, targets.go), the JSON body templates of action hooks
// (template.go, template_path.go, jsonappend.go) and Standard Webhooks
// signing (signature.go).
//
// One engine sends everything (engine.go): a delivery of an event to a hook,
// a webhook endpoint or a call's callback, and an API call (call.go,
// callrun.go) share the machinery of package send: the request executor,
// the attempts table, the classification and the schedule, the per-target
// limits in Redis, the shares and the circuit breakers; asynq is only the
// timer. Requests waiting for an API call to end are woken through Redis
// pub/sub (wait.go), never by polling.
//
// hooks never imports connections: requests leave through an outbound-client
// interface that hooks declares and connections satisfies.
package hooks
