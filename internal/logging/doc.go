// Package logging builds Liaison's slog logger from the configuration and
// carries the request id through contexts, so that every line logged with a
// request's context names the request.
//
// # Files
//
//   - logging.go: New, and WithRequestID and RequestID with the handler that
//     adds the id to every line.
package logging
