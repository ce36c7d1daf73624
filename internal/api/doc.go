// Package api is Liaison's HTTP surface: the JSON API under /v1, the OAuth
// callback, health and readiness, and the OpenAPI description. Every route
// is declared in routes.go with the one access-token scope it needs; the
// middleware around them gives each request an id (X-Request-Id, in every log
// line of the request), limits the body, turns panics into a plain 500 and
// answers errors as application/problem+json (RFC 9457).
//
// Handlers decode and validate input, call the domain packages and encode
// the answer; the domain packages never import this one.
package api
