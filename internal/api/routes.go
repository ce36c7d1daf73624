package api

import (
	"net/http"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/access"
)

// route is one entry of the API: its pattern (net/http method pattern), the
// access-token scope it needs, or Public for the few that need none, and a
// summary for the OpenAPI description.
type route struct {
	Pattern string
	Scope   string
	Public  bool
	Summary string
	// Request and Response are zero values of the body types, for the
	// OpenAPI description; nil for none.
	Request, Response any
	// Status is the success status when it is not the usual one: 201 for
	// a POST to a collection, 204 for a DELETE, 200 otherwise.
	Status  int
	Handler http.HandlerFunc
}

// routes lists every route Liaison serves, each with the one scope it
// needs. TestEveryRouteNeedsItsScope walks this list, and
// TestOpenAPIDescribesEveryRoute checks each is in /openapi.json.
func (s *Server) routes() []route {
	return []route{
		// Operations.
		{Pattern: "GET /healthz", Public: true, Summary: "The process is up", Handler: s.healthz},
		{Pattern: "GET /readyz", Public: true, Summary: "The database and Redis answer (?worker=1: and a worker)", Handler: s.readyz},
		{Pattern: "GET /metrics", Public: true, Summary: "Prometheus metrics", Handler: s.metrics},
		{Pattern: "GET /openapi.json", Public: true, Summary: "This API's OpenAPI 3.1 description", Handler: s.openapi},

		// Access tokens.
		{Pattern: "POST /v1/tokens", Scope: access.ScopeTokensManage, Summary: "Create an access token; its secret is in this answer only", Request: access.Input{}, Response: access.Issued{}, Handler: s.createToken},
		{Pattern: "GET /v1/tokens", Scope: access.ScopeTokensManage, Summary: "List access tokens", Response: list[access.Token]{}, Handler: s.listTokens},
		{Pattern: "GET /v1/tokens/{id}", Scope: access.ScopeTokensManage, Summary: "Show an access token", Response: access.Token{}, Handler: s.getToken},
		{Pattern: "PATCH /v1/tokens/{id}", Scope: access.ScopeTokensManage, Summary: "Edit name, description or scopes; the secret stays", Request: access.Input{}, Response: access.Token{}, Handler: s.updateToken},
		{Pattern: "DELETE /v1/tokens/{id}", Scope: access.ScopeTokensManage, Summary: "Delete an access token; it stops working at once", Handler: s.deleteToken},
		{Pattern: "POST /v1/tokens/{id}/rotate", Scope: access.ScopeTokensManage, Summary: "Issue a new secret; the old one expires later (overlap) or now", Request: rotateRequest{}, Response: access.Issued{}, Handler: s.rotateToken},
		{Pattern: "POST /v1/tokens/{id}/rotation/cancel", Scope: access.ScopeTokensManage, Summary: "Cancel a rotation: the new secret stops, the old is primary again", Response: access.Token{}, Handler: s.cancelTokenRotation},
		{Pattern: "POST /v1/tokens/{id}/rotation/expire", Scope: access.ScopeTokensManage, Summary: "End a rotation now: the old secret stops", Response: access.Token{}, Handler: s.expireTokenRotation},

		// Connections.
		{Pattern: "POST /v1/connections", Scope: access.ScopeConnectionsWrite, Summary: "Create a connection (OAuth2, bearer token or API key); the answer shows the redirect URI", Request: connections.Input{}, Response: connection{}, Handler: s.createConnection},
		{Pattern: "GET /v1/connections", Scope: access.ScopeConnectionsRead, Summary: "List connections, all or of one auth_type (?auth_type=bearer)", Response: list[connection]{}, Handler: s.listConnections},
		{Pattern: "GET /v1/connections/{id}", Scope: access.ScopeConnectionsRead, Summary: "Show a connection, secrets masked", Response: connection{}, Handler: s.getConnection},
		{Pattern: "PATCH /v1/connections/{id}", Scope: access.ScopeConnectionsWrite, Summary: "Edit a connection; new credentials or scopes ask for reconnection", Request: connections.Input{}, Response: connection{}, Handler: s.updateConnection},
		{Pattern: "DELETE /v1/connections/{id}", Scope: access.ScopeConnectionsWrite, Summary: "Delete a connection, revoking its tokens at the provider where possible", Response: deletedConnection{}, Status: http.StatusOK, Handler: s.deleteConnection},
		{Pattern: "POST /v1/connections/{id}/authorize", Scope: access.ScopeConnectionsWrite, Summary: "Start connecting: the URL to send the person to", Response: authorizeAnswer{}, Handler: s.authorizeConnection},
		{Pattern: "POST /v1/connections/{id}/test", Scope: access.ScopeConnectionsRead, Summary: "Send GET test_path through the connection: status, latency, error", Response: connections.TestResult{}, Handler: s.testConnection},
		{Pattern: "POST /v1/connections/{id}/refresh", Scope: access.ScopeConnectionsWrite, Summary: "Refresh the connection's OAuth token now", Response: connection{}, Handler: s.refreshConnection},
		{Pattern: "GET /v1/connections/{id}/refreshes", Scope: access.ScopeConnectionsRead, Summary: "The connection's latest token refreshes (at most 20), newest first: when, outcome, the provider's error", Response: list[connections.Refresh]{}, Handler: s.connectionRefreshes},
		{Pattern: "POST /v1/connections/{id}/pause", Scope: access.ScopeConnectionsWrite, Summary: "Pause the connection: deliveries, API calls and imports through it wait, no attempt used, until it is resumed", Response: connection{}, Handler: s.pauseConnection},
		{Pattern: "POST /v1/connections/{id}/resume", Scope: access.ScopeConnectionsWrite, Summary: "Resume a paused connection; what waited for it goes now", Response: connection{}, Handler: s.resumeConnection},
		// Feed imports.
		{Pattern: "POST /v1/imports", Scope: access.ScopeImportsWrite, Summary: "Create a feed import", Request: importer.Input{}, Response: importer.Import{}, Handler: s.createImport},
		{Pattern: "GET /v1/imports", Scope: access.ScopeImportsRead, Summary: "List feed imports", Response: list[importer.Import]{}, Handler: s.listImports},
		{Pattern: "GET /v1/imports/{id}", Scope: access.ScopeImportsRead, Summary: "Show a feed import", Response: importer.Import{}, Handler: s.getImport},
		{Pattern: "PATCH /v1/imports/{id}", Scope: access.ScopeImportsWrite, Summary: "Edit a feed import; schedule changes apply within a minute", Request: importer.Input{}, Response: importer.Import{}, Handler: s.updateImport},
		{Pattern: "DELETE /v1/imports/{id}", Scope: access.ScopeImportsWrite, Summary: "Delete a feed import with its runs and items", Handler: s.deleteImport},
		{Pattern: "POST /v1/imports/{id}/run", Scope: access.ScopeImportsWrite, Summary: "Run an import now (409 while a run is queued or running)", Response: importer.Run{}, Status: http.StatusAccepted, Handler: s.runImport},
		{Pattern: "GET /v1/imports/{id}/runs", Scope: access.ScopeImportsRead, Summary: "List an import's runs, newest first", Response: list[importer.Run]{}, Handler: s.listRuns},
		{Pattern: "GET /v1/imports/{id}/items", Scope: access.ScopeImportsRead, Summary: "Page through an import's catalogue items (?status=active|removed)", Response: list[importer.CatalogItem]{}, Handler: s.listItems},
		{Pattern: "GET /v1/runs/{id}", Scope: access.ScopeImportsRead, Summary: "Show a run: status, progress, counts, sampled bad rows", Response: importer.Run{}, Handler: s.getRun},
		{Pattern: "POST /v1/runs/{id}/cancel", Scope: access.ScopeImportsWrite, Summary: "Cancel a queued or running run", Response: importer.Run{}, Handler: s.cancelRun},

		// Events in; action hooks, event webhooks and their deliveries out.
		{Pattern: "POST /v1/events", Scope: access.ScopeEventsWrite, Summary: "Take an event; its id makes intake idempotent", Request: hooks.EventInput{}, Response: hooks.Accepted{}, Status: http.StatusAccepted, Handler: s.postEvent},
		{Pattern: "POST /v1/events/batch", Scope: access.ScopeEventsWrite, Summary: "Take up to 1000 events; a bad one is reported by index and does not block the rest", Request: eventBatch{}, Response: batchAnswer{}, Status: http.StatusAccepted, Handler: s.postEventBatch},
		{Pattern: "GET /v1/events/{id}", Scope: access.ScopeEventsWrite, Summary: "Show an event and its deliveries", Response: eventAnswer{}, Handler: s.getEvent},
		{Pattern: "POST /v1/hooks", Scope: access.ScopeHooksWrite, Summary: "Create an action hook", Request: hooks.HookInput{}, Response: hooks.Hook{}, Handler: s.createHook},
		{Pattern: "GET /v1/hooks", Scope: access.ScopeHooksRead, Summary: "List action hooks", Response: list[hooks.Hook]{}, Handler: s.listHooks},
		{Pattern: "GET /v1/hooks/{id}", Scope: access.ScopeHooksRead, Summary: "Show an action hook", Response: hooks.Hook{}, Handler: s.getHook},
		{Pattern: "PATCH /v1/hooks/{id}", Scope: access.ScopeHooksWrite, Summary: "Edit an action hook", Request: hooks.HookInput{}, Response: hooks.Hook{}, Handler: s.updateHook},
		{Pattern: "DELETE /v1/hooks/{id}", Scope: access.ScopeHooksWrite, Summary: "Delete an action hook; its deliveries stay as history", Handler: s.deleteHook},
		{Pattern: "POST /v1/hooks/{id}/replay", Scope: access.ScopeHooksWrite, Summary: "Send again every finished delivery of the hook since a time", Request: replayRequest{}, Response: hooks.ReplayResult{}, Status: http.StatusAccepted, Handler: s.replayHook},
		{Pattern: "POST /v1/hooks/{id}/test", Scope: access.ScopeHooksWrite, Summary: "Render the hook against a sample (or given) event; send it once with send: true", Request: hooks.TryInput{}, Response: hooks.TryResult{}, Handler: s.testHook},
		{Pattern: "POST /v1/webhooks", Scope: access.ScopeHooksWrite, Summary: "Create an event-webhook endpoint; its whsec_ secret is in this answer only", Request: hooks.WebhookInput{}, Response: hooks.WebhookWithSecret{}, Handler: s.createWebhook},
		{Pattern: "GET /v1/webhooks", Scope: access.ScopeHooksRead, Summary: "List event-webhook endpoints", Response: list[hooks.Webhook]{}, Handler: s.listWebhooks},
		{Pattern: "GET /v1/webhooks/{id}", Scope: access.ScopeHooksRead, Summary: "Show an event-webhook endpoint", Response: hooks.Webhook{}, Handler: s.getWebhook},
		{Pattern: "PATCH /v1/webhooks/{id}", Scope: access.ScopeHooksWrite, Summary: "Edit an event-webhook endpoint; enabling clears a disabled reason", Request: hooks.WebhookInput{}, Response: hooks.Webhook{}, Handler: s.updateWebhook},
		{Pattern: "DELETE /v1/webhooks/{id}", Scope: access.ScopeHooksWrite, Summary: "Delete an event-webhook endpoint", Handler: s.deleteWebhook},
		{Pattern: "POST /v1/webhooks/{id}/secret/rotate", Scope: access.ScopeHooksWrite, Summary: "Issue a new secret; the old one keeps signing during the overlap (24 h)", Response: hooks.WebhookWithSecret{}, Handler: s.rotateWebhookSecret},
		{Pattern: "POST /v1/webhooks/{id}/replay", Scope: access.ScopeHooksWrite, Summary: "Send again every finished delivery of the endpoint since a time", Request: replayRequest{}, Response: hooks.ReplayResult{}, Status: http.StatusAccepted, Handler: s.replayWebhook},
		{Pattern: "GET /v1/deliveries", Scope: access.ScopeHooksRead, Summary: "List deliveries, newest first (?hook=&webhook=&event=&status=&since=)", Response: list[hooks.Delivery]{}, Handler: s.listDeliveries},
		{Pattern: "GET /v1/deliveries/{id}", Scope: access.ScopeHooksRead, Summary: "Show a delivery with its attempts", Response: hooks.Delivery{}, Handler: s.getDelivery},
		{Pattern: "POST /v1/deliveries/{id}/retry", Scope: access.ScopeHooksWrite, Summary: "Send a finished delivery again", Response: hooks.Delivery{}, Status: http.StatusAccepted, Handler: s.retryDelivery},

		// API-call nodes. Reading a call needs calls.write too: the answer is
		// what the call's author asked for, and there is no calls.read.
		{Pattern: "POST /v1/calls", Scope: access.ScopeCallsWrite, Summary: "Make an HTTP call through a connection; with wait (0–30 s) the answer is the result (200), else 202 with the call's id and state", Request: calls.CallInput{}, Response: calls.Call{}, Status: http.StatusAccepted, Handler: s.createCall},
		{Pattern: "GET /v1/calls/{id}", Scope: access.ScopeCallsWrite, Summary: "Show a call: state, every attempt, the final answer", Response: calls.Call{}, Handler: s.getCall},

		{Pattern: "GET /oauth/callback", Public: true, Summary: "The OAuth redirect URI: finishes connecting, then 303 to the connection's page in the web UI (an unknown state: an HTML page saying why)", Handler: s.oauthCallback},
	}
}
