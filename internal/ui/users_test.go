package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/users"
)

func TestUsersPagesAndActionsAreForAdminsOnly(t *testing.T) {
	b := setup(t)
	admin := member(t, b, "admin@example.com", users.RoleAdmin)
	ana := member(t, b, "ana@example.com", users.RoleMember)
	cookie := signIn(t, b, "ana@example.com", "")
	home := send(t, b, http.MethodGet, "/connections", cookie, nil)
	assert.NotContains(t, home.Body, `href="/users"`, "a member sees no Users entry")
	token := csrfOf(t, home.Body)

	for _, path := range []string{"/users", "/users/new", "/users/" + admin.ID, "/users/" + ana.ID} {
		a := send(t, b, http.MethodGet, path, cookie, nil)
		assert.Equal(t, http.StatusForbidden, a.StatusCode, path)
		assert.Contains(t, a.Body, "You do not have access to this page", path)
	}
	posts := map[string]url.Values{
		"/users/new":                      {"email": {"new@example.com"}, "role": {"admin"}, "how": {"password"}, "password": {testPassword}, "repeat": {testPassword}},
		"/users/" + ana.ID:                {"role": {"admin"}, "rights": {"shown"}, "integrations": {"on"}},
		"/users/" + admin.ID + "/disable": nil,
		"/users/" + admin.ID + "/enable":  nil,
		"/users/" + admin.ID + "/reset":   nil,
	}
	for path, form := range posts {
		if form == nil {
			form = url.Values{}
		}
		form.Set("csrf", token)
		a := send(t, b, http.MethodPost, path, cookie, form)
		assert.Equal(t, http.StatusForbidden, a.StatusCode, path)
		assert.NotContains(t, a.Body, "/reset/", path)
	}
	list, err := b.App.Users.List(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 2, "nobody was created")
	for _, u := range list {
		assert.Equal(t, map[string]users.Role{admin.ID: users.RoleAdmin, ana.ID: users.RoleMember}[u.ID], u.Role)
		assert.False(t, u.Disabled)
		assert.Equal(t, u.IsAdmin(), u.ManagesIntegrations, "the right is unchanged")
	}
	assert.Equal(t, http.StatusOK, send(t, b, http.MethodGet, "/connections", cookie, nil).StatusCode, "still signed in as a member")
}

func TestUsersInviteTakesTheDomainsDefaultRight(t *testing.T) {
	b := setup(t)
	member(t, b, "admin@example.com", users.RoleAdmin)
	cookie := signIn(t, b, "admin@example.com", "")
	token := csrfOf(t, send(t, b, http.MethodGet, "/users/new", cookie, nil).Body)

	// Without the checkbox's "rights" field, the domain's default applies:
	// on for an admin, off for a member. With it, unticked is off.
	for email, want := range map[string]struct {
		form  url.Values
		right bool
	}{
		"boss@example.com":  {url.Values{"role": {"admin"}}, true},
		"ben@example.com":   {url.Values{"role": {"member"}}, false},
		"limit@example.com": {url.Values{"role": {"admin"}, "rights": {"shown"}}, false},
		"mo@example.com":    {url.Values{"role": {"member"}, "rights": {"shown"}, "integrations": {"on"}}, true},
	} {
		f := want.form
		f.Set("csrf", token)
		f.Set("email", email)
		f.Set("how", "link")
		a := send(t, b, http.MethodPost, "/users/new", cookie, f)
		require.Equal(t, http.StatusOK, a.StatusCode, a.Body)
		assert.Contains(t, a.Body, b.URL+"/invite/", email)
		assert.Contains(t, a.Body, "(in 72 hours)", email)
		u := userByEmail(t, b.App.Users, email)
		assert.Equal(t, want.right, u.ManagesIntegrations, email)
		assert.False(t, u.HasPassword, email)
	}
}

// userByEmail finds a user in the list.
func userByEmail(t *testing.T, svc *users.Service, email string) users.User {
	t.Helper()
	list, err := svc.List(context.Background())
	require.NoError(t, err)
	for _, u := range list {
		if strings.EqualFold(u.Email, email) {
			return u
		}
	}
	t.Fatalf("no user %s", email)
	return users.User{}
}

func TestUsersAnAdminWhoDemotesThemselfLeavesTheUsersPages(t *testing.T) {
	b := setup(t)
	me := member(t, b, "admin@example.com", users.RoleAdmin)
	member(t, b, "other@example.com", users.RoleAdmin)
	cookie := signIn(t, b, "admin@example.com", "")
	page := send(t, b, http.MethodGet, "/users/"+me.ID, cookie, nil)
	require.Equal(t, http.StatusOK, page.StatusCode)
	assert.Equal(t, http.StatusNotFound, send(t, b, http.MethodGet, "/users/usr_nobody", cookie, nil).StatusCode)

	a := send(t, b, http.MethodPost, "/users/"+me.ID, cookie, url.Values{"csrf": {csrfOf(t, page.Body)}, "role": {"member"}, "rights": {"shown"}})
	require.Equal(t, http.StatusSeeOther, a.StatusCode, a.Body)
	assert.Equal(t, "/connections", a.Header.Get("Location"), "the user's page is no longer theirs to see")
	u, err := b.App.Users.Get(context.Background(), me.ID)
	require.NoError(t, err)
	assert.Equal(t, users.RoleMember, u.Role)
	assert.False(t, u.ManagesIntegrations)
	assert.Equal(t, http.StatusForbidden, send(t, b, http.MethodGet, "/users", cookie, nil).StatusCode)
}
