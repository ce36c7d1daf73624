package ui

import "net/http"

// signout ends the session (users.SignOut deletes it) and forgets the
// cookie.
func (h *Handler) signout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		if err := h.o.Users.SignOut(r.Context(), c.Value); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	h.clearSession(w)
	http.Redirect(w, r, "/signin?done=signed-out", http.StatusSeeOther)
}
