// Package hooks owns what flows out of Liaison because something happened:
// events in; action hooks, event webhooks and API-call nodes out. It keeps
// the events and their intake (event.go, intake.go), the matching of events
// to targets (match.go, targets.go), the JSON body templates of action hooks
// (template.go, template_path.go, jsonappend.go), Standard Webhooks signing
// (signature.go), and the classification of an attempt's outcome with the
// retry schedule (classify.go).
//
// One engine sends everything (engine.go): a delivery of an event to a hook,
// a webhook endpoint or a call's callback, and an API call (call.go,
// callrun.go) share the request executor (exchange.go), the attempts table
// (attempt.go), the classification and the schedule, the per-target limits
// in Redis (limit.go), and asynq only as the timer. Requests waiting for an API call
// to end are woken through Redis pub/sub (wait.go), never by polling.
//
// hooks never imports connections: requests leave through an outbound-client
// interface that hooks declares and connections satisfies.
package hooks
