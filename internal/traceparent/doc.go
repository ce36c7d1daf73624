// Package traceparent carries a W3C Trace Context traceparent header
// (https://www.w3.org/TR/trace-context/) from a request that came in to the
// requests Liaison sends while serving it: the API middleware puts it in
// the request's context, the outbound client (connections) sends it on.
//
// Liaison records no spans of its own, so it passes the header on as it
// came, as the specification allows a system that does not take part in
// the trace. A header that does not parse is dropped, never repaired.
// Work done later by the worker (deliveries, API-call nodes, imports) runs
// outside the request and carries none.
//
// # Files
//
//   - traceparent.go: Header, With and From to carry it in a context, and
//     Valid.
package traceparent
