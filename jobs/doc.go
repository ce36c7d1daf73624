// Package jobs is the only package that knows asynq. It owns the Redis
// connection the queue runs on (one go-redis client shared by the asynq
// client, server, scheduler and inspector), the embedded in-process Redis
// used when REDIS_URL is unset, the task types and their payloads, the one
// mux that registers every handler, retry and delay policy, queues, and the
// periodic-task provider that the scheduler reads.
//
// Task types read "domain:action" (system:ping). Each NewXxxTask constructor
// sits next to its handler, and every handler is registered in newMux. A
// handler decodes its payload, calls domain code and returns its error; it
// never swallows one. Domain errors speak internal/retry (a *retry.Later,
// retry.ErrNever, anything else), and the worker maps them to asynq in one
// place: its RetryDelayFunc and IsFailure, and the mux's neverRetry
// (queue.go, mux.go).
//
// Queues: critical for work a person or a scenario is waiting on (API
// calls), default for deliveries, low for imports and housekeeping. A
// worker takes deliveries on an asynq server of their own, so they cost
// one script a task to dequeue and never take the slots of an API call;
// its other server weighs critical 6 to low 1, weights rather than strict
// priority, so low work is never starved (queue.go).
//
// # Files
//
//   - queue.go: the queues, the worker and its two asynq servers, their
//     defaults, the retry and delay policy, and the client that enqueues.
//   - mux.go: Deps, the domain services the handlers call, and newMux.
//   - delivery.go, calls.go, imports.go, connections.go, users.go, system.go: the
//     task types of each area with their constructors and handlers.
//   - sweep.go: sweep, the shape of the hourly and per-minute clean-ups
//     (connection tokens, users' sessions and links): task, schedule, handler.
//   - scheduler.go: the scheduler and its periodic sources (the sweeps,
//     import schedules, housekeeping).
//   - recover.go: every second, a worker hands back the tasks of leases
//     that a dead worker left (scripts over asynq's keys).
//   - redis.go: the Redis connection, real (single, Sentinel, Cluster) or
//     embedded; stats.go: the queues' task counts for /metrics.
//   - logger.go: asynq's logging through slog.
package jobs
