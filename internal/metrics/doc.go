// Package metrics is what Liaison tells Prometheus at GET /metrics. It owns
// a registry of its own (never the global default one, so that every
// process, and every test, counts apart), the Go runtime and process
// collectors, and Liaison's metric families:
//
//   - liaison_http_requests_total{route,method,status} and
//     liaison_http_request_duration_seconds{route}: every request to the
//     API, labelled by the ServeMux pattern it matched ("unmatched" for
//     none), never by its raw path, so the number of series stays bounded;
//   - liaison_delivery_attempts_total{target_kind,outcome} and
//     liaison_delivery_attempt_duration_seconds{target_kind}: every request
//     an action hook, an event webhook, an API call or a call's callback
//     sent, with how Classify judged its answer;
//   - liaison_token_refreshes_total{result}: every refresh that went to a
//     token endpoint (ok, error, invalid_grant);
//   - liaison_import_runs_total{status}: every feed-import run that ended;
//   - liaison_queue_tasks{queue,state}: the tasks each queue holds, read
//     from Redis at scrape time.
//
// Domain packages never import this package or Prometheus: each declares
// a callback in its own options (hooks.Options.ObserveAttempt,
// connections.Options.ObserveRefresh, importer.Store.ObserveRun), and
// internal/app wires this package's methods into them. A nil *Metrics
// observes nothing, so tests that do not care need not build one.
//
// No label carries an id, a URL, a secret or anything a user typed.
//
// # Files
//
//   - metrics.go: Metrics, its registry and the Observe callbacks (HTTP
//     requests, attempts, token refreshes, import runs).
//   - database.go: WatchDatabase, the pool's connections and waits.
//   - queues.go: WatchQueues, the tasks of each queue by state.
package metrics
