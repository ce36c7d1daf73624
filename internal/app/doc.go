// Package app builds Liaison from a config.Config: the database (migrated),
// Redis and the queue client, the key ring, the connections service (the
// outbound client), the delivery engine, the import store and runner,
// access tokens and metrics. It closes them in reverse order. cmd/liaison's
// processes and the tests that need the whole application are built here,
// so that there is one wiring.
//
// # Files
//
//   - app.go: Options and Open, the one wiring (calls.Targets and
//     hooks.Intake first, then connections, the engine and API calls), Close,
//     the parts the API and the task handlers take (APIDeps, JobDeps),
//     StartWorker and StartScheduler, the key ring and the guard's opening in
//     dev.
//   - web.go: WebHandler, the web process's one handler: the API's paths
//     to the API server, everything else to the web UI (internal/ui).
package app
