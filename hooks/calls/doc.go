// Package calls owns API-call nodes: an automation scenario step asks
// Liaison to make one HTTP request through a connection (POST /v1/calls)
// and takes the answer, at once when it waits for it (up to MaxCallWait),
// later by reading the call, or through a signed callback.
//
// The model and its validation are call.go (Create, Get); a run of one
// attempt is run.go (Run), through the machinery it shares with deliveries
// (package send: the executor, the attempts table, classification, the
// connection's limits, share and circuit); waiting for a call to end, woken
// through Redis pub/sub and never by polling, is wait.go (Wait); the sweep
// that queues what Redis lost and retention are sweep.go (Sweep, Clean).
//
// The callback of an ended call is an ordinary signed delivery of the event
// call.completed to the callback URL: the call stores it through the
// delivery engine (Callbacks, which hooks.Service satisfies) in the
// transaction that ends the call, and the engine asks this package where it
// goes (CallbackTarget). calls never imports asynq or connections: it
// declares the Queue and the Connections it needs.
//
// # Files
//
//   - service.go: the interfaces calls declares (Connections, Queue,
//     Callbacks), Options with its defaults and schedule, Service with New,
//     and Targets (NewTargets), the callback targets the delivery engine
//     asks, built before the engine and handed to it.
//   - call.go: the call, its input and validation; Create and Get.
//   - run.go: Run, one attempt through the connection.
//   - wait.go: Wait, woken through Redis pub/sub.
//   - sweep.go: Sweep (queue what Redis lost) and Clean (retention).
package calls
