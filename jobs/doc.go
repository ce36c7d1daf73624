// Package jobs is the only package that knows asynq. It owns the Redis
// connection the queue runs on (one go-redis client shared by the asynq
// client, server, scheduler and inspector), the embedded in-process Redis
// used when REDIS_URL is unset, the task types and their payloads, the one
// mux that registers every handler, retry and delay policy, queues, and the
// periodic-task provider that the scheduler reads.
//
// Task types read "domain:action" (system:ping). Each NewXxxTask constructor
// sits next to its handler, and every handler is registered in newMux. A
// handler decodes its payload, calls domain code and maps the error; it never
// swallows one.
//
// Queues: critical for work a person or a scenario is waiting on (API
// calls), default for deliveries, low for imports and housekeeping. A
// worker takes deliveries on an asynq server of their own, so they cost
// one script a task to dequeue and never take the slots of an API call;
// its other server weighs critical 6 to low 1, weights rather than strict
// priority, so low work is never starved (queue.go).
package jobs
