package ui

import (
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/liaison/liaison/internal/users"
)

// signinData is the sign-in screen's: the form and where to go after.
type signinData struct {
	Form *form
	Next string
}

// signinForm shows the sign-in form; a signed-in person goes on at once.
func (h *Handler) signinForm(w http.ResponseWriter, r *http.Request) {
	next := nextPath(r.URL.Query().Get("next"))
	if _, ok := current(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	h.render(w, r, "signin", "Sign in", signinData{Form: newForm(r, "email", "password"), Next: next})
}

// signin checks the email and password with users.SignIn and starts a new
// session. Whether the email has an account is never said.
func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	f := newForm(r, "email", "password")
	next := nextPath(r.PostFormValue("next"))
	_, ss, err := h.o.Users.SignIn(r.Context(), f.value("email"), f.value("password"), clientAddress(r))
	var throttled *users.ThrottledError
	switch {
	case errors.As(err, &throttled):
		f.invalid("password", "Too many failed sign-ins. Try again in "+minutes(throttled.RetryAfter)+".")
	case errors.Is(err, users.ErrBadCredentials):
		f.invalid("password", "The email or the password is wrong. Check both and try again.")
	case err != nil:
		h.serverError(w, r, err)
		return
	default:
		h.startSession(w, r, ss)
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	h.renderStatus(w, r, http.StatusUnprocessableEntity, "signin", "Sign in", signinData{Form: f, Next: next})
}

// minutes is a wait in whole minutes, rounded up: "1 minute", "3 minutes".
func minutes(d time.Duration) string {
	return plural(max(1, int(math.Ceil(d.Minutes()))), "minute")
}
