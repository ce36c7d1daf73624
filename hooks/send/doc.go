// Package send is the machinery that deliveries (package hooks) and API
// calls share to send one request to a target and judge its answer:
//
//   - the request executor (exchange.go): Exchange sends an Outgoing
//     request through a Sender (connections.Service satisfies it) and
//     records it as an Attempt, secrets removed, the answer capped, an
//     error in plain words;
//   - the attempts table (attempt.go), whose rows a delivery or a call owns;
//   - classification and schedules (classify.go): Classify, Retry-After,
//     Schedule;
//   - per-target limits held in Redis across every worker (limit.go), a
//     target's share of this process's slots (share.go), and circuit
//     breakers kept in the circuits table (circuit.go).
//
// send knows no table of its owners: what a circuit's change means (an
// event, waking what waited) is told back through Breakers.Opened and
// Breakers.Closed.
//
// # Files
//
//   - exchange.go: Exchange and Outgoing, the request executor.
//   - attempt.go: the attempts table.
//   - classify.go: Classify, Outcome and Retry-After.
//   - step.go: Step and Advance, where a schedule stands after an attempt and
//     when the next one is due.
//   - limit.go: Limiter, the per-target rate and concurrency limits in Redis.
//   - share.go: Share, a target's share of this process's slots.
//   - circuit.go: Breakers, the circuit breakers of the circuits table.
package send
