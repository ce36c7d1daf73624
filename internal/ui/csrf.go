package ui

import "net/http"

// csrfField is the hidden field of every form of a signed-in screen; the
// layout's templates put it in with {{template "csrf" .}}.
const csrfField = "csrf"

// validCSRF reports whether a request may change something: reading
// (GET, HEAD) always may; anything else must carry the session's form
// token, compared by users.Session.ValidCSRF. Screens open to everyone
// (sign-in, the one-time links) have no session to hold a token: their
// forms rely on the cross-origin protection in front of every route, and
// on the secret in their link.
func (h *Handler) validCSRF(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	s, ok := current(r)
	return ok && s.Session.ValidCSRF(r.PostFormValue(csrfField))
}
