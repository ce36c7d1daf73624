package ui

import (
	"errors"
	"net/http"

	"github.com/liaison/liaison/internal/users"
)

// passwordData is the data of the screens that choose a password: the
// first admin's setup, an invitation, a reset.
type passwordData struct {
	Form *form
	// Email is the person a link is for (invite, reset); "" for setup,
	// where it is typed.
	Email string
	// Action is the form's button.
	Action string
}

// setupForm shows the first admin's form, while the setup link works.
func (h *Handler) setupForm(w http.ResponseWriter, r *http.Request) {
	if _, err := h.o.Users.Link(r.Context(), r.PathValue("token")); err != nil {
		h.linkError(w, r, err)
		return
	}
	h.render(w, r, "setup", "Create the first admin", passwordData{Form: newForm(r, "email", "password", "repeat"), Action: "Create admin"})
}

// setup creates the first admin with users.Redeem and signs it in.
func (h *Handler) setup(w http.ResponseWriter, r *http.Request) {
	f := newForm(r, "email", "password", "repeat")
	data := passwordData{Form: f, Action: "Create admin"}
	if !samePasswords(f) {
		h.renderStatus(w, r, http.StatusUnprocessableEntity, "setup", "Create the first admin", data)
		return
	}
	u, err := h.o.Users.Redeem(r.Context(), r.PathValue("token"), users.Input{Email: f.value("email"), Password: f.value("password")})
	if f.from(err) {
		h.renderStatus(w, r, http.StatusUnprocessableEntity, "setup", "Create the first admin", data)
		return
	}
	if err != nil {
		h.linkError(w, r, err)
		return
	}
	h.signInAfterLink(w, r, u.ID)
}

// samePasswords checks that the password was typed twice alike (a
// mistake of typing, not a rule of users).
func samePasswords(f *form) bool {
	if f.value("password") != f.value("repeat") {
		f.invalid("repeat", "The two passwords are not the same. Type the same password twice.")
		return false
	}
	return true
}

// signInAfterLink starts a session for the person a link just proved and
// sends them to the first screen.
func (h *Handler) signInAfterLink(w http.ResponseWriter, r *http.Request, userID string) {
	ss, err := h.o.Users.StartSession(r.Context(), userID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.startSession(w, r, ss)
	http.Redirect(w, r, "/connections?done=password-set", http.StatusSeeOther)
}

// linkError is the page of a one-time link that does not work.
func (h *Handler) linkError(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, users.ErrLinkInvalid) {
		h.serverError(w, r, err)
		return
	}
	m := message{Text: "This link has already been used, has expired, or was copied incompletely. Ask an admin for a new one.",
		LinkText: "Go to sign-in", LinkURL: "/signin"}
	if _, ok := current(r); ok {
		m.LinkText, m.LinkURL = "Go to Connections", "/connections"
	}
	h.renderStatus(w, r, http.StatusNotFound, "message", "This link no longer works", m)
}
