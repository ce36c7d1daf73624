// Package redistest gives each test a Redis of its own. With REDIS_URL set
// (a single server), a test reserves one of its numbered databases 1–15,
// empties it and releases it afterwards, so tests and test packages running
// in parallel never share keys; asynq's keys have no prefix to set, so a
// database of its own is the isolation it allows. Without REDIS_URL each
// test starts an embedded miniredis.
//
// # Files
//
//   - redistest.go: New.
package redistest
