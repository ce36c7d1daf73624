package api

import (
	"html/template"
	"net/http"
	"net/url"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
)

// connection is a connection as the API shows it: its view, secrets
// masked, and the circuit breaker that its action hooks and API calls go
// through (open while the service does not answer).
type connection struct {
	connections.View
	Circuit hooks.Circuit `json:"circuit"`
}

// shown adds a connection's circuit to its view.
func (s *Server) shown(r *http.Request, v connections.View) (connection, error) {
	circuits, err := s.connectionCircuits(r, []string{v.ID})
	return connection{View: v, Circuit: circuits[v.ID]}, err
}

// connectionCircuits are the circuits of connections by id. Without the
// delivery engine (a server of connections alone) nothing goes through
// them, and every circuit is closed.
func (s *Server) connectionCircuits(r *http.Request, ids []string) (map[string]hooks.Circuit, error) {
	if s.Hooks == nil {
		out := make(map[string]hooks.Circuit, len(ids))
		for _, id := range ids {
			out[id] = hooks.Circuit{State: hooks.CircuitClosed}
		}
		return out, nil
	}
	return s.Hooks.ConnectionCircuits(r.Context(), ids)
}

// replyConnection answers with one connection, or, when err is set, with
// the problem err is.
func (s *Server) replyConnection(w http.ResponseWriter, r *http.Request, status int, v connections.View, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.shown(r, v)
	s.reply(w, r, status, out, err)
}

func (s *Server) createConnection(w http.ResponseWriter, r *http.Request) {
	in, ok := body[connections.Input](s, w, r)
	if !ok {
		return
	}
	v, err := s.Connections.Create(r.Context(), in)
	s.replyConnection(w, r, http.StatusCreated, v, err)
}

func (s *Server) listConnections(w http.ResponseWriter, r *http.Request) {
	cursor, limit, err := page(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	views, next, err := s.Connections.List(r.Context(), cursor, limit, r.URL.Query().Get("auth_type"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.ID
	}
	circuits, err := s.connectionCircuits(r, ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := list[connection]{Data: make([]connection, len(views)), NextCursor: next}
	for i, v := range views {
		out.Data[i] = connection{View: v, Circuit: circuits[v.ID]}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getConnection(w http.ResponseWriter, r *http.Request) {
	v, err := s.Connections.Get(r.Context(), r.PathValue("id"))
	s.replyConnection(w, r, http.StatusOK, v, err)
}

func (s *Server) updateConnection(w http.ResponseWriter, r *http.Request) {
	in, ok := body[connections.Input](s, w, r)
	if !ok {
		return
	}
	v, err := s.Connections.Update(r.Context(), r.PathValue("id"), in)
	s.replyConnection(w, r, http.StatusOK, v, err)
}

// deletedConnection is the answer to a deletion: the connection is gone;
// whether the provider revoked its tokens is reported, not required.
type deletedConnection struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
	connections.DeleteResult
}

func (s *Server) deleteConnection(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	res, err := s.Connections.Delete(r.Context(), id)
	s.reply(w, r, http.StatusOK, deletedConnection{ID: id, Deleted: true, DeleteResult: res}, err)
}

type authorizeAnswer struct {
	AuthorizeURL string `json:"authorize_url"`
}

func (s *Server) authorizeConnection(w http.ResponseWriter, r *http.Request) {
	u, err := s.Connections.AuthorizeURL(r.Context(), r.PathValue("id"))
	s.reply(w, r, http.StatusOK, authorizeAnswer{AuthorizeURL: u}, err)
}

func (s *Server) testConnection(w http.ResponseWriter, r *http.Request) {
	replyByID(s, w, r, http.StatusOK, s.Connections.Test)
}

func (s *Server) refreshConnection(w http.ResponseWriter, r *http.Request) {
	v, err := s.Connections.Refresh(r.Context(), r.PathValue("id"))
	s.replyConnection(w, r, http.StatusOK, v, err)
}

func (s *Server) pauseConnection(w http.ResponseWriter, r *http.Request) {
	v, err := s.Connections.Pause(r.Context(), r.PathValue("id"))
	s.replyConnection(w, r, http.StatusOK, v, err)
}

func (s *Server) resumeConnection(w http.ResponseWriter, r *http.Request) {
	v, err := s.Connections.Resume(r.Context(), r.PathValue("id"))
	s.replyConnection(w, r, http.StatusOK, v, err)
}

// connectionRefreshes answers the latest refreshes (?limit=, at most 20).
func (s *Server) connectionRefreshes(w http.ResponseWriter, r *http.Request) {
	_, limit, err := page(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.Connections.Refreshes(r.Context(), r.PathValue("id"), limit)
	s.reply(w, r, http.StatusOK, list[connections.Refresh]{Data: out}, err)
}

// callbackPage is what the person sees back from the provider when the
// answer names no connection (a forged, used or unknown state): the
// outcome in plain words and nothing else: no tokens, no codes, no stack
// traces. html/template escapes everything the provider sent.
var callbackPage = template.Must(template.New("callback").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Not connected · Liaison</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}.bad{color:#a01818}code{background:#f3f3f3;padding:0 .2em}</style>
</head>
<body>
<h1 class="bad">Not connected</h1>
<p>{{.Message}}</p>
{{if .Problem}}<p>Reason: <code>{{.Problem}}</code></p>{{end}}
<p><a href="/connections">Go to Connections</a></p>
</body>
</html>
`))

// CallbackLanding is where the redirect URI sends the browser once an
// authorization for connection id ended: the connection's page in the
// web UI, which reads how it ended from the connection itself (its
// status, or the reason Complete stored as its last error), never from
// the URL.
func CallbackLanding(id string, ok bool) string {
	result := "failed"
	if ok {
		result = "ok"
	}
	return "/connections/" + url.PathEscape(id) + "?connect=" + result
}

// oauthCallback is the redirect URI: the provider sends the browser here
// with code and state (or error). Complete runs once; when the answer
// belongs to a connection the person lands on its page (303), else on a
// page that says why (400, or 500 when Liaison failed).
func (s *Server) oauthCallback(w http.ResponseWriter, r *http.Request) {
	out := s.Connections.Complete(r.Context(), r.URL.Query())
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	if out.ConnectionID != "" {
		http.Redirect(w, r, CallbackLanding(out.ConnectionID, out.OK), http.StatusSeeOther)
		return
	}
	status := http.StatusBadRequest
	if out.Problem == "internal" {
		status = http.StatusInternalServerError
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := callbackPage.Execute(w, out); err != nil {
		s.Log.ErrorContext(r.Context(), "writing the callback page", "error", err)
	}
}
