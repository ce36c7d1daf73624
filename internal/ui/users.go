package ui

import (
	"net/http"
	"strings"
	"time"

	"github.com/liaison/liaison/internal/users"
)

// usersData is the users list's.
type usersData struct {
	Users []userRow
}

// userRow is a user as the list and the user's page show it, in plain
// words.
type userRow struct {
	users.User
	Status string
	// Badge is the status badge's style: "ok", "waiting", "problem".
	Badge string
}

func userRowOf(u users.User) userRow {
	switch {
	case u.Disabled:
		return userRow{User: u, Status: "Disabled", Badge: "problem"}
	case !u.HasPassword:
		return userRow{User: u, Status: "Invited — link not used yet", Badge: "waiting"}
	}
	return userRow{User: u, Status: "Active", Badge: "ok"}
}

// usersList shows every user.
func (h *Handler) usersList(w http.ResponseWriter, r *http.Request) {
	list, err := h.o.Users.List(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	var data usersData
	for _, u := range list {
		data.Users = append(data.Users, userRowOf(u))
	}
	h.render(w, r, "users", "Users", data)
}

// newUserFields are the invite form's fields. "rights" is a hidden field
// that says the form showed the right's checkbox: without it (a request
// that does not name the right) the domain's default applies.
var newUserFields = []string{"email", "role", "integrations", "rights", "how", "password", "repeat"}

// newUserData is the invite form's.
type newUserData struct {
	Form *form
}

// userNewForm shows the invite form: a member, the right off (as the
// domain's default for a member), getting in with a link.
func (h *Handler) userNewForm(w http.ResponseWriter, r *http.Request) {
	f := newForm(r, newUserFields...)
	f.set("role", string(users.RoleMember))
	f.set("how", "link")
	h.render(w, r, "user_new", "Invite a user", newUserData{Form: f})
}

// userCreate invites the user (users.Invite, then shows the link once) or
// creates it with a password (users.Create).
func (h *Handler) userCreate(w http.ResponseWriter, r *http.Request) {
	f := newForm(r, newUserFields...)
	in := users.Input{Email: f.value("email"), Role: users.Role(f.value("role"))}
	if f.value("rights") != "" {
		in.ManagesIntegrations = new(f.value("integrations") != "")
	}
	again := func() {
		h.renderStatus(w, r, http.StatusUnprocessableEntity, "user_new", "Invite a user", newUserData{Form: f})
	}
	var (
		u     users.User
		token string
		err   error
	)
	switch f.value("how") {
	case "password":
		if !samePasswords(f) {
			again()
			return
		}
		in.Password = f.value("password")
		u, err = h.o.Users.Create(r.Context(), in)
	case "link":
		u, token, err = h.o.Users.Invite(r.Context(), in)
	default:
		f.invalid("how", "Choose how they get in: a one-time link or a password set now.")
		again()
		return
	}
	switch {
	case f.from(err):
		again()
	case err != nil:
		h.serverError(w, r, err)
	case token != "":
		h.showLink(w, r, u, "invite", token)
	default:
		http.Redirect(w, r, "/users/"+u.ID+"?done=user-created", http.StatusSeeOther)
	}
}

// linkData is the page that shows a one-time link, once.
type linkData struct {
	User users.User
	// Purpose is "invite" or "reset".
	Purpose string
	URL     string
	// Until is when the link stops working; In, how long from now.
	Until, In string
}

// showLink shows the link of token (an invitation or a reset) once: only
// its hash is kept, so it cannot be shown again.
func (h *Handler) showLink(w http.ResponseWriter, r *http.Request, u users.User, purpose, token string) {
	l, err := h.o.Users.Link(r.Context(), token)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	title := "Invitation link for " + u.Email
	if purpose == "reset" {
		title = "Password reset link for " + u.Email
	}
	h.render(w, r, "user_link", title, linkData{User: u, Purpose: purpose,
		URL:   strings.TrimSuffix(h.o.PublicURL, "/") + "/" + purpose + "/" + token,
		Until: l.ExpiresAt.UTC().Format("2 Jan 2006, 15:04 UTC"),
		In:    plural(int(l.ExpiresAt.Sub(h.o.Now()).Round(time.Hour).Hours()), "hour")})
}
