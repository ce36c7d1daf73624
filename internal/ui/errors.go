package ui

import (
	"net/http"
)

// message is the data of the "message" screen: a page of plain words with
// an optional way on.
type message struct {
	Text     string
	LinkText string
	LinkURL  string
}

// notFound is the 404 page.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.renderStatus(w, r, http.StatusNotFound, "message", "Page not found", message{
		Text: "There is nothing at this address. It may have moved, or the link may be mistyped.", LinkText: "Go to Connections", LinkURL: "/connections"})
}

// forbidden is the 403 page: a screen the person may not open, or a form
// that did not come from Liaison (another site, or an expired form).
func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request) {
	text := "You do not have access to this page. Ask an admin if you need it."
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		text = "This form could not be accepted: it has expired or was not sent from Liaison. Go back, reload the page and try again."
	}
	h.renderStatus(w, r, http.StatusForbidden, "message", "Not allowed", message{Text: text, LinkText: "Go to Connections", LinkURL: "/connections"})
}

// serverError logs err and shows a page that says so in plain words. It
// logs the route's pattern, never the path: a link's path holds its
// secret token.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	h.o.Log.ErrorContext(r.Context(), "web UI request failed", "method", r.Method, "route", r.Pattern, "error", err)
	h.renderStatus(w, r, http.StatusInternalServerError, "message", "Something went wrong", message{
		Text: "Something went wrong on our side. Try again in a moment; if it keeps happening, tell whoever runs Liaison."})
}
