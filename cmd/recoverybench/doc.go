// Command recoverybench measures how soon deliveries move again after a
// fault, on separate liaison processes as in production:
//
//	DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go run ./cmd/recoverybench
//
// It builds liaison, starts its own redis-server on a free loopback port
// (no persistence, so that it can kill -9 it and restart it empty), puts
// a TCP proxy in front of PostgreSQL (a scratch schema; the server is never
// touched), and runs one web process, two workers and a scheduler on
// them. A producer posts events at -rate to a webhook whose receiver, on
// loopback, answers each request after -hold, so that deliveries are in
// flight when a fault comes; the producer retries an event that is not
// answered 202, with the same id, as the README asks of one. Three drills,
// one after the other, each after the deliveries before it have settled:
//
//   - worker: SIGKILL one worker (and start another in its place); the
//     deliveries whose requests it left unanswered must come again.
//   - redis: kill -9 redis-server, restart it -outage later with no data.
//   - database: cut the proxy for -outage, restore it.
//
// For each drill it prints the longest time from the fault's end (the
// restart, the restore, the worker's death) to the next request of a
// delivery that was waiting then, and at the end how many accepted events
// never reached the receiver (none may).
//
// # Files
//
//   - main.go: the flags, the processes (liaison, redis-server) and the TCP
//     proxy, the producer, the receiver that times each delivery, and the
//     three drills.
package main
