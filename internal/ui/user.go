package ui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/users"
)

// userData is a user's page: the user, its role-and-right form, and the
// errors of the last change (a refusal to demote or disable the last
// admin reads under its control).
type userData struct {
	userRow
	Form *form
	// Self is whether the page is the signed-in admin's own.
	Self bool
}

// userFields are the fields of a user's page: the role-and-right form
// ("rights" says the form showed the checkbox) and the disable button's
// error.
var userFields = []string{"role", "integrations", "rights", "disabled"}

// userOf reads the user of the path's {id}; false when there is none and
// the 404 page was shown.
func (h *Handler) userOf(w http.ResponseWriter, r *http.Request) (users.User, bool) {
	u, err := h.o.Users.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, users.ErrNotFound) {
		h.notFound(w, r)
		return users.User{}, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return users.User{}, false
	}
	return u, true
}

// showUser renders the user's page with f (the user's values when f
// was not posted).
func (h *Handler) showUser(w http.ResponseWriter, r *http.Request, status int, u users.User, f *form) {
	if r.Method == http.MethodGet || f.value("role") == "" {
		f.set("role", string(u.Role))
		f.set("integrations", "")
		if u.ManagesIntegrations {
			f.set("integrations", "on")
		}
	}
	me, _ := current(r)
	h.renderStatus(w, r, status, "user", u.Email, userData{userRow: userRowOf(u), Form: f, Self: me.User.ID == u.ID})
}

// userPage shows a user.
func (h *Handler) userPage(w http.ResponseWriter, r *http.Request) {
	if u, ok := h.userOf(w, r); ok {
		h.showUser(w, r, http.StatusOK, u, newForm(r, userFields...))
	}
}

// userUpdate saves the role and the right (users.Update).
func (h *Handler) userUpdate(w http.ResponseWriter, r *http.Request) {
	f := newForm(r, userFields...)
	c := users.Change{}
	if role := f.value("role"); role != "" {
		c.Role = new(users.Role(role))
	}
	if f.value("rights") != "" {
		c.ManagesIntegrations = new(f.value("integrations") != "")
	}
	h.change(w, r, f, c, "user-saved")
}

// userDisable and userEnable switch the user off (its sessions end at
// once) and on again.
func (h *Handler) userDisable(w http.ResponseWriter, r *http.Request) {
	h.change(w, r, newForm(r, userFields...), users.Change{Disabled: new(true)}, "user-disabled")
}

func (h *Handler) userEnable(w http.ResponseWriter, r *http.Request) {
	h.change(w, r, newForm(r, userFields...), users.Change{Disabled: new(false)}, "user-enabled")
}

// change applies c with users.Update and goes back to the user's page
// with the done banner; a refusal is shown on the page in the domain's
// words. An admin who has just demoted themself goes to Connections: the
// user's page is no longer theirs to see.
func (h *Handler) change(w http.ResponseWriter, r *http.Request, f *form, c users.Change, done string) {
	u, ok := h.userOf(w, r)
	if !ok {
		return
	}
	changed, err := h.o.Users.Update(r.Context(), u.ID, c)
	if ie, ok := invalid.As(err); ok {
		for _, fe := range ie.Fields {
			f.invalid(fe.Field, fullStop(fe.Message))
		}
		h.showUser(w, r, http.StatusUnprocessableEntity, u, f)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if me, _ := current(r); me.User.ID == u.ID && !changed.IsAdmin() {
		http.Redirect(w, r, "/connections", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/users/"+u.ID+"?done="+done, http.StatusSeeOther)
}

// userReset makes a password reset link and shows it once.
func (h *Handler) userReset(w http.ResponseWriter, r *http.Request) {
	u, ok := h.userOf(w, r)
	if !ok {
		return
	}
	token, err := h.o.Users.ResetLink(r.Context(), u.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.showLink(w, r, u, "reset", token)
}

// fullStop is a domain message that is a sentence of its own ("x is
// the last admin and cannot be demoted; …"), with its full stop. It
// starts with an email, so it is not capitalised.
func fullStop(message string) string {
	if strings.HasSuffix(message, ".") {
		return message
	}
	return message + "."
}
