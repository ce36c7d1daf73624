package ui

import (
	"net/http"
)

// connectionNew asks the type of the new connection, then, with
// ?type=, shows that type's form.
func (h *Handler) connectionNew(w http.ResponseWriter, r *http.Request) {
	t, ok := typeNamed(r.URL.Query().Get("type"))
	if !ok {
		h.render(w, r, "connection_type", "New connection", connectionTypes)
		return
	}
	h.render(w, r, "connection_form", "New connection: "+t.Name, newConnectionForm(r, t, h.o.Connections.RedirectURI()))
}

// connectionCreate creates the connection the form describes, or shows
// the form again with each error next to its field, nothing saved.
func (h *Handler) connectionCreate(w http.ResponseWriter, r *http.Request) {
	t, ok := typeNamed(r.URL.Query().Get("type"))
	if !ok {
		h.notFound(w, r)
		return
	}
	f := newConnectionForm(r, t, h.o.Connections.RedirectURI())
	in := f.input()
	if f.ok() {
		v, err := h.o.Connections.Create(r.Context(), in)
		if err == nil {
			http.Redirect(w, r, "/connections/"+v.ID+"?done=connection-created", http.StatusSeeOther)
			return
		}
		if !f.fromDomain(err) {
			h.serverError(w, r, err)
			return
		}
	}
	h.renderStatus(w, r, http.StatusUnprocessableEntity, "connection_form", "New connection: "+t.Name, f)
}
