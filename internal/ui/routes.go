package ui

import "net/http"

// route is one screen's pattern (net/http method pattern) and handler,
// already wrapped in what it requires: h.public, h.signedIn, h.admin or
// h.integrations.
type route struct {
	pattern string
	handler http.Handler
}

// routes lists every route of the UI, one line each: a new screen adds
// its lines here, grouped under its heading.
func (h *Handler) routes() []route {
	return []route{
		{"GET /static/", h.static},
		{"GET /{$}", h.signedIn(h.home)},

		// Signing in and out (signin.go, signout.go).
		{"GET /signin", h.public(h.signinForm)},
		{"POST /signin", h.public(h.signin)},
		{"POST /signout", h.signedIn(h.signout)},

		// One-time links (setup.go, invite.go).
		{"GET /setup/{token}", h.public(h.setupForm)},
		{"POST /setup/{token}", h.public(h.setup)},
		{"GET /invite/{token}", h.public(h.invite(invitePage))},
		{"POST /invite/{token}", h.public(h.invite(invitePage))},
		{"GET /reset/{token}", h.public(h.invite(resetPage))},
		{"POST /reset/{token}", h.public(h.invite(resetPage))},

		// Connections (connections.go).
		{"GET /connections", h.signedIn(h.connectionsList)},
		// A new connection, its page, edit and delete (connection_new.go,
		// connection.go, connection_edit.go, connection_delete.go).
		{"GET /connections/new", h.signedIn(h.connectionNew)},
		{"POST /connections/new", h.signedIn(h.connectionCreate)},
		{"GET /connections/{id}", h.signedIn(h.connectionPage)},
		{"POST /connections/{id}/connect", h.signedIn(h.connectionConnect)},
		{"POST /connections/{id}/test", h.signedIn(h.connectionTest)},
		{"POST /connections/{id}/refresh", h.signedIn(h.connectionRefresh)},
		{"POST /connections/{id}/pause", h.signedIn(h.connectionPause)},
		{"POST /connections/{id}/resume", h.signedIn(h.connectionResume)},
		{"GET /connections/{id}/edit", h.signedIn(h.connectionEdit)},
		{"POST /connections/{id}/edit", h.signedIn(h.connectionSave)},
		{"GET /connections/{id}/delete", h.signedIn(h.connectionDeleteConfirm)},
		{"POST /connections/{id}/delete", h.signedIn(h.connectionDelete)},

		// Users, for admins (users.go, user.go).
		{"GET /users", h.admin(h.usersList)},
		{"GET /users/new", h.admin(h.userNewForm)},
		{"POST /users/new", h.admin(h.userCreate)},
		{"GET /users/{id}", h.admin(h.userPage)},
		{"POST /users/{id}", h.admin(h.userUpdate)},
		{"POST /users/{id}/disable", h.admin(h.userDisable)},
		{"POST /users/{id}/enable", h.admin(h.userEnable)},
		{"POST /users/{id}/reset", h.admin(h.userReset)},

		// Private integrations (integrations.go, integration*.go).
		{"GET /integrations", h.integrations(h.integrationsList)},
		{"GET /integrations/new", h.integrations(h.integrationNew)},
		{"POST /integrations/new", h.integrations(h.integrationCreate)},
		{"GET /integrations/{id}", h.integrations(h.integrationPage)},
		{"GET /integrations/{id}/edit", h.integrations(h.integrationEdit)},
		{"POST /integrations/{id}/edit", h.integrations(h.integrationUpdate)},
		{"GET /integrations/{id}/rotate", h.integrations(h.integrationRotateConfirm)},
		{"POST /integrations/{id}/rotate", h.integrations(h.integrationRotate)},
		{"POST /integrations/{id}/rotation/cancel", h.integrations(h.integrationCancelRotation)},
		{"POST /integrations/{id}/rotation/expire", h.integrations(h.integrationExpireRotation)},
		{"GET /integrations/{id}/delete", h.integrations(h.integrationDeleteConfirm)},
		{"POST /integrations/{id}/delete", h.integrations(h.integrationDelete)},

		// Action hooks (hooks.go, hook*.go).

		// Event webhooks (webhooks.go, webhook*.go).

		// The delivery log (deliveries.go, delivery.go).

		// Imports (imports.go, import*.go).

		// API calls (calls.go).

		// Anything else.
		{"/", h.public(h.notFound)},
	}
}

// home sends a signed-in person to the first screen.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/connections", http.StatusSeeOther)
}
