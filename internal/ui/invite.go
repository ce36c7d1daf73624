package ui

import (
	"net/http"

	"github.com/liaison/liaison/internal/users"
)

// linkPage is one screen on which the person a link is for chooses a
// password: an invitation or a reset.
type linkPage struct {
	purpose users.Purpose
	title   string
	action  string
}

var (
	invitePage = linkPage{users.PurposeInvite, "Welcome to Liaison", "Set password and sign in"}
	resetPage  = linkPage{users.PurposeReset, "Choose a new password", "Set new password and sign in"}
)

// link reads the token's link; one for another purpose (an invitation
// opened at /reset/) does not work here.
func (h *Handler) link(r *http.Request, p linkPage) (users.Link, error) {
	l, err := h.o.Users.Link(r.Context(), r.PathValue("token"))
	if err == nil && l.Purpose != p.purpose {
		err = users.ErrLinkInvalid
	}
	return l, err
}

// invite shows the choose-a-password form of an invitation or reset
// (GET) and sets the password with users.Redeem, signing the person in
// (POST).
func (h *Handler) invite(p linkPage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l, err := h.link(r, p)
		if err != nil {
			h.linkError(w, r, err)
			return
		}
		f := newForm(r, "password", "repeat")
		data := passwordData{Form: f, Email: l.Email, Action: p.action}
		if r.Method == http.MethodGet {
			h.render(w, r, "invite", p.title, data)
			return
		}
		if !samePasswords(f) {
			h.renderStatus(w, r, http.StatusUnprocessableEntity, "invite", p.title, data)
			return
		}
		u, err := h.o.Users.Redeem(r.Context(), r.PathValue("token"), users.Input{Password: f.value("password")})
		if f.from(err) {
			h.renderStatus(w, r, http.StatusUnprocessableEntity, "invite", p.title, data)
			return
		}
		if err != nil {
			h.linkError(w, r, err)
			return
		}
		h.signInAfterLink(w, r, u.ID)
	}
}
