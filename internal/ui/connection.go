package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/liaison/liaison/connections"
)

// connectionPageData is the connection page's: the connection in plain
// words, its last refreshes, and what an action just found.
type connectionPageData struct {
	connectionRow
	Refreshes []connections.Refresh
	// Connect is the banner after coming back from the provider (from
	// ?connect=ok|failed, its words read from the connection itself).
	Connect *banner
	// Test is what Test found; Problem what an action could not do.
	Test    *connections.TestResult
	Problem string
}

// banner is a banner of the screen's own: text and whether it tells of a
// problem.
type banner struct {
	Text    string
	Problem bool
}

// refreshesShown is how many refreshes the page lists.
const refreshesShown = 10

// connectionPage shows one connection: status, redirect URI, token
// refreshes, last use, pause, and its buttons.
func (h *Handler) connectionPage(w http.ResponseWriter, r *http.Request) {
	v, ok := h.connection(w, r)
	if !ok {
		return
	}
	h.showConnection(w, r, http.StatusOK, v, connectionPageData{Connect: connectBanner(v, r.URL.Query().Get("connect"))})
}

// showConnection renders the page of v with data's extras. Its Connect
// form leaves for the provider's authorization URL: the page's form-action
// allows that origin.
func (h *Handler) showConnection(w http.ResponseWriter, r *http.Request, status int, v connections.View, data connectionPageData) {
	rs, err := h.o.Connections.Refreshes(r.Context(), v.ID, refreshesShown)
	if err != nil && !errors.Is(err, connections.ErrNotFound) {
		h.serverError(w, r, err)
		return
	}
	data.connectionRow, data.Refreshes = rowOf(v), rs
	if u, err := url.Parse(v.AuthorizationURL); err == nil && u.Scheme != "" && u.Host != "" {
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy(u.Scheme+"://"+u.Host))
	}
	h.renderStatus(w, r, status, "connection", v.Name, data)
}

// connectBanner says how Connect ended, from what the domain stored on
// the connection (its status, or the reason in its last error); the URL
// says only which of the two to look at.
func connectBanner(v connections.View, result string) *banner {
	switch {
	case result == "ok" && v.Status == connections.StatusConnected:
		return &banner{Text: "Connected: Liaison can now use “" + v.Name + "”."}
	case result == "failed", result == "ok":
		text := "Not connected. Start again with Connect."
		if v.LastError != "" {
			text = "Not connected. " + v.LastError
		}
		return &banner{Text: text, Problem: true}
	}
	return nil
}

// connectionConnect sends the browser to the provider to authorize the
// connection (Connect and Reconnect).
func (h *Handler) connectionConnect(w http.ResponseWriter, r *http.Request) {
	u, err := h.o.Connections.AuthorizeURL(r.Context(), r.PathValue("id"))
	if err != nil {
		h.actionFailed(w, r, err)
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// connectionTest sends the connection's test request and shows what came
// back.
func (h *Handler) connectionTest(w http.ResponseWriter, r *http.Request) {
	res, err := h.o.Connections.Test(r.Context(), r.PathValue("id"))
	if err != nil {
		h.actionFailed(w, r, err)
		return
	}
	v, ok := h.connection(w, r)
	if !ok {
		return
	}
	h.showConnection(w, r, http.StatusOK, v, connectionPageData{Test: &res})
}

// connectionRefresh replaces the connection's token now.
func (h *Handler) connectionRefresh(w http.ResponseWriter, r *http.Request) {
	h.act(w, r, h.o.Connections.Refresh, "connection-refreshed")
}

// connectionPause and connectionResume pause and resume the connection.
func (h *Handler) connectionPause(w http.ResponseWriter, r *http.Request) {
	h.act(w, r, h.o.Connections.Pause, "connection-paused")
}

func (h *Handler) connectionResume(w http.ResponseWriter, r *http.Request) {
	h.act(w, r, h.o.Connections.Resume, "connection-resumed")
}

// act runs an action on the path's connection, then shows its page with
// the done banner, or the page with what went wrong.
func (h *Handler) act(w http.ResponseWriter, r *http.Request, do func(ctx context.Context, id string) (connections.View, error), done string) {
	id := r.PathValue("id")
	if _, err := do(r.Context(), id); err != nil {
		h.actionFailed(w, r, err)
		return
	}
	http.Redirect(w, r, "/connections/"+url.PathEscape(id)+"?done="+done, http.StatusSeeOther)
}

// actionFailed shows the connection's page with why the action failed,
// in plain words.
func (h *Handler) actionFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, connections.ErrNotFound) {
		h.notFound(w, r)
		return
	}
	v, ok := h.connection(w, r)
	if !ok {
		return
	}
	text := "That did not work: " + connections.PlainError(err) + "."
	switch {
	case errors.Is(err, connections.ErrWrongType):
		text = "This is not possible for this type of connection."
	case errors.Is(err, connections.ErrNeedsReauth) && v.LastError != "":
		text = "The other service no longer accepts this connection (" + v.LastError + "). Click Reconnect to allow Liaison access again."
	}
	h.showConnection(w, r, http.StatusConflict, v, connectionPageData{Problem: text})
}
