package ui

import (
	"errors"
	"net/http"

	"github.com/liaison/liaison/connections"
)

// connectionDeleteConfirm asks before deleting a connection.
func (h *Handler) connectionDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	v, ok := h.connection(w, r)
	if !ok {
		return
	}
	h.render(w, r, "connection_delete", "Delete "+v.Name+"?", rowOf(v))
}

// connectionDelete deletes the connection (revoking its tokens at the
// provider first when it can) and shows the list with whether the
// provider revoked them.
func (h *Handler) connectionDelete(w http.ResponseWriter, r *http.Request) {
	res, err := h.o.Connections.Delete(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, connections.ErrNotFound):
		h.notFound(w, r)
		return
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/connections?done="+deletedFlash(res), http.StatusSeeOther)
}

// deletedFlash is the banner of a deletion: whether the provider revoked
// the tokens, failed to, or was not asked (no revocation endpoint or no
// token).
func deletedFlash(res connections.DeleteResult) string {
	switch {
	case res.Revoked:
		return "connection-deleted-revoked"
	case res.RevokeError != "":
		return "connection-deleted-not-revoked"
	}
	return "connection-deleted"
}
