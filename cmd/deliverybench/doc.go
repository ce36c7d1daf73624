// Command deliverybench measures the delivery engine end to end, on the
// real path: events go in through the HTTP API (api.Server on loopback,
// with an access token), are stored with their deliveries, queued on Redis,
// run by an asynq worker (the jobs package), signed and POSTed through the
// outbound client (connections, SSRF guard with loopback opened) to a local
// receiver that checks the Standard Webhooks signature and answers 204 at
// once, and the attempt is recorded in the database. It reports
//
//   - throughput: deliveries per second at full speed, from the first event
//     sent to the last attempt recorded, for -events events sent in
//     batches of -batch (POST /v1/events/batch) by -senders clients;
//   - latency: p50/p95/p99 from an event's POST /v1/events to its delivery
//     reaching the receiver, at a fixed -rate events per second for
//     -duration, each event sent on its own at its scheduled time (a late
//     send counts from when it was due, so a stall is not hidden), after
//     -lead-in at the same rate that is not counted (the phase starts on a
//     checkpointed and analyzed database: the first seconds replan every
//     statement and write a full page image of every page they touch), and for
//     the slowest events over 25 ms where the time went: leaving this
//     process, intake (until the 202), or after it; -stall-trace writes a
//     flight recording (go tool trace) of the seconds around the first
//     intake that takes over 100 ms;
//
// and, for each, the CPU a delivery cost this process, Redis and the whole
// machine, and how busy the machine was: anything else running on it
// shows there. Run it with
//
//	REDIS_URL=redis://127.0.0.1:6379 DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go run ./cmd/deliverybench
//
// and compare with asynq's own rate on the same machine, the yardstick of
// the targets in docs/DESIGN.md, "Targets" (BenchmarkEmptyHandler in jobs).
//
// Without DATABASE_URL it uses an SQLite file in a temporary folder, without
// REDIS_URL the embedded Redis; neither is what the targets are about. On
// PostgreSQL each run uses a fresh schema and drops it afterwards. On Redis
// it needs a database with no asynq queues in it (name another one in the
// URL, redis://host:6379/9, if yours is in use) and removes its keys
// afterwards. Web, worker and receiver share this one process, as in
// liaison dev.
//
// # Files
//
//   - main.go: the flags, the bench set up in one process (database, Redis,
//     worker, API, receiver), the throughput and latency phases, the CPU
//     samples, and the receiver that checks signatures.
//   - hung.go: the hung phase: a hanging endpoint beside a healthy one.
package main
