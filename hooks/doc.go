// Package hooks owns what flows out of Liaison because something happened:
// events in; action hooks, event webhooks and API-call nodes out. It keeps
// the matching of events to targets (match.go), the JSON body templates of
// action hooks (template.go), Standard Webhooks signing (signature.go), and
// the classification of an attempt's outcome with the retry schedule
// (classify.go).
//
// hooks never imports connections: requests leave through an outbound-client
// interface that hooks declares and connections satisfies.
package hooks
