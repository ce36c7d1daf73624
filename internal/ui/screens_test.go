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

func TestThrottledSignInSaysHowLongToWait(t *testing.T) {
	b := setup(t)
	member(t, b, "ana@example.com", users.RoleMember)
	// An unknown email reads the same as a wrong password (and counts
	// against the address).
	a := send(t, b, http.MethodPost, "/signin", "", url.Values{"email": {"nobody@example.com"}, "password": {"whatever it is"}})
	assert.Contains(t, a.Body, "The email or the password is wrong")
	wrong := url.Values{"email": {"ana@example.com"}, "password": {"not the password"}}
	for range users.DefaultThrottleFailures - 1 {
		a := send(t, b, http.MethodPost, "/signin", "", wrong)
		require.Equal(t, http.StatusUnprocessableEntity, a.StatusCode)
		assert.Contains(t, a.Body, "The email or the password is wrong")
	}
	a = send(t, b, http.MethodPost, "/signin", "", url.Values{"email": {"ana@example.com"}, "password": {testPassword}})
	assert.Equal(t, http.StatusUnprocessableEntity, a.StatusCode)
	assert.Contains(t, a.Body, "Too many failed sign-ins. Try again in 1 minute.")
	assert.Contains(t, a.Body, `value="ana@example.com"`, "the email is kept")
}

func TestInviteAndResetLinksChooseAPassword(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	admin := member(t, b, "admin@example.com", users.RoleAdmin)
	_, invite, err := b.App.Users.Invite(ctx, users.Input{Email: "new@example.com"})
	require.NoError(t, err)
	reset, err := b.App.Users.ResetLink(ctx, admin.ID)
	require.NoError(t, err)

	// A link works only at its own path.
	assert.Contains(t, send(t, b, http.MethodGet, "/reset/"+invite, "", nil).Body, "This link no longer works")
	page := send(t, b, http.MethodGet, "/invite/"+invite, "", nil)
	require.Equal(t, http.StatusOK, page.StatusCode)
	assert.Contains(t, page.Body, "new@example.com")

	short := send(t, b, http.MethodPost, "/invite/"+invite, "", url.Values{"password": {"short"}, "repeat": {"short"}})
	assert.Equal(t, http.StatusUnprocessableEntity, short.StatusCode)
	assert.Contains(t, short.Body, "Password is 5 characters long; at least 10 are needed.")
	assert.Contains(t, short.Body, `aria-describedby="f-password-error"`)

	for path, email := range map[string]string{"/invite/" + invite: "new@example.com", "/reset/" + reset: "admin@example.com"} {
		a := send(t, b, http.MethodPost, path, "", url.Values{"password": {testPassword}, "repeat": {testPassword}})
		require.Equal(t, http.StatusSeeOther, a.StatusCode, a.Body)
		assert.Equal(t, "/connections?done=password-set", a.Header.Get("Location"))
		u, _, err := b.App.Users.Authenticate(ctx, a.sessionCookie())
		require.NoError(t, err)
		assert.Equal(t, email, u.Email)
		used := send(t, b, http.MethodGet, path, "", nil)
		assert.Equal(t, http.StatusNotFound, used.StatusCode)
		assert.Contains(t, used.Body, "This link has already been used, has expired")
	}
}

func TestNavigationFollowsRolesAndRights(t *testing.T) {
	b := setup(t)
	member(t, b, "admin@example.com", users.RoleAdmin)
	member(t, b, "ana@example.com", users.RoleMember)
	admin := send(t, b, http.MethodGet, "/connections", signIn(t, b, "admin@example.com", ""), nil).Body
	ana := send(t, b, http.MethodGet, "/connections", signIn(t, b, "ana@example.com", ""), nil).Body
	for _, link := range []string{`href="/users"`, `href="/integrations"`} {
		assert.Contains(t, admin, link)
		assert.NotContains(t, ana, link)
	}
	assert.Contains(t, ana, "ana@example.com")
	assert.Contains(t, ana, `href="/connections/new"`)
}

func TestPlainPages(t *testing.T) {
	b := setup(t)
	member(t, b, "ana@example.com", users.RoleMember)
	cookie := signIn(t, b, "ana@example.com", "")

	home := send(t, b, http.MethodGet, "/", cookie, nil)
	assert.Equal(t, http.StatusSeeOther, home.StatusCode)
	assert.Equal(t, "/connections", home.Header.Get("Location"))

	missing := send(t, b, http.MethodGet, "/no/such/page", cookie, nil)
	assert.Equal(t, http.StatusNotFound, missing.StatusCode)
	assert.Contains(t, missing.Body, "There is nothing at this address")
	assert.Contains(t, missing.Body, "ana@example.com", "in the layout, signed in")

	// A banner is only ever a fixed text.
	a := send(t, b, http.MethodGet, "/connections?done=<script>x</script>", cookie, nil)
	assert.NotContains(t, a.Body, "script>x")
	assert.Contains(t, send(t, b, http.MethodGet, "/signin?done=signed-out", "", nil).Body, "You are signed out.")

	page := send(t, b, http.MethodGet, "/signin", "", nil)
	_, after, ok := strings.Cut(page.Body, `href="/static/style.css?v=`)
	require.True(t, ok)
	v, _, _ := strings.Cut(after, `"`)
	css := send(t, b, http.MethodGet, "/static/style.css?v="+v, "", nil)
	assert.Equal(t, http.StatusOK, css.StatusCode)
	assert.Equal(t, "public, max-age=31536000, immutable", css.Header.Get("Cache-Control"))
	assert.Contains(t, css.Header.Get("Content-Type"), "text/css")
	assert.Equal(t, "no-store", page.Header.Get("Cache-Control"))
}
