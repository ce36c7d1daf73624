// Package api is Liaison's HTTP surface: the JSON API under /v1, the OAuth
// callback, health and readiness, and the OpenAPI description. Every route
// is declared in routes.go with the one access-token scope it needs; the
// middleware around them gives each request an id (X-Request-Id, in every log
// line of the request), limits the body, turns panics into a plain 500 and
// answers errors as application/problem+json (RFC 9457).
//
// Handlers decode and validate input, call the domain packages and encode
// the answer; the domain packages never import this one.
//
// # Files
//
//   - server.go: Deps, New, the middleware (request id, body limit, panics,
//     access log, trace) and HTTPServer.
//   - routes.go: every route with its scope, summary, request and answer.
//   - auth.go: access tokens on requests, and the slowing of failed ones.
//   - problem.go: Problem answers, the strict JSON body decoder and the
//     fields its problems name; errors.go: the one table that maps domain
//     errors onto problems.
//   - connections.go, tokens.go, events.go, hooks.go, webhooks.go,
//     deliveries.go, calls.go, imports.go: the handlers of each area (the
//     OAuth callback, which lands on the connection's page in the web UI,
//     CallbackLanding, is in connections.go).
//   - reply.go: the handlers' common shape: decode the body, call the
//     domain (replyTo, replyToID, replyByID, replyDone), answer the result
//     or its problem, and pages of lists (replyPage).
//   - health.go: /healthz, /readyz and /metrics.
//   - openapi.go: /openapi.json, generated from the routes and the types.
package api
