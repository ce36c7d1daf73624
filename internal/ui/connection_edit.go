package ui

import (
	"errors"
	"net/http"

	"github.com/liaison/liaison/connections"
)

// connectionEdit shows a connection in its form; its secrets are never
// shown, only that they are saved.
func (h *Handler) connectionEdit(w http.ResponseWriter, r *http.Request) {
	f, v, ok := h.editForm(w, r)
	if !ok {
		return
	}
	f.fill(v)
	h.render(w, r, "connection_form", "Edit "+v.Name, f)
}

// connectionSave saves an edit: a secret left empty stays as it was, a
// secret typed replaces it; on an error nothing is saved. An edit that
// drops the token (a new client, endpoints or scopes) says to connect again.
func (h *Handler) connectionSave(w http.ResponseWriter, r *http.Request) {
	f, v, ok := h.editForm(w, r)
	if !ok {
		return
	}
	in := f.input()
	if f.ok() {
		saved, err := h.o.Connections.Update(r.Context(), v.ID, in)
		if err == nil {
			done := "connection-saved"
			if v.Status == connections.StatusConnected && saved.AuthType == connections.AuthOAuth2Code && saved.Status != connections.StatusConnected {
				done = "connection-saved-reconnect"
			}
			http.Redirect(w, r, "/connections/"+v.ID+"?done="+done, http.StatusSeeOther)
			return
		}
		if errors.Is(err, connections.ErrNotFound) {
			h.notFound(w, r)
			return
		}
		if !f.fromDomain(err) {
			h.serverError(w, r, err)
			return
		}
	}
	h.renderStatus(w, r, http.StatusUnprocessableEntity, "connection_form", "Edit "+v.Name, f)
}

// editForm is the edit form of the path's connection (as posted, or empty
// on a GET), knowing which secrets it holds.
func (h *Handler) editForm(w http.ResponseWriter, r *http.Request) (*connectionForm, connections.View, bool) {
	v, ok := h.connection(w, r)
	if !ok {
		return nil, v, false
	}
	t, _ := typeNamed(v.AuthType)
	f := newConnectionForm(r, t, h.o.Connections.RedirectURI())
	f.ID = v.ID
	f.Saved = map[string]bool{"client_secret": v.ClientSecret != "", "token": v.Token != "",
		"api_key.value": v.APIKey != nil && v.APIKey.Value != ""}
	return f, v, true
}

// connection is the connection of the path's {id}; when there is none the
// 404 page is answered.
func (h *Handler) connection(w http.ResponseWriter, r *http.Request) (connections.View, bool) {
	v, err := h.o.Connections.Get(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, connections.ErrNotFound):
		h.notFound(w, r)
		return v, false
	case err != nil:
		h.serverError(w, r, err)
		return v, false
	}
	return v, true
}
