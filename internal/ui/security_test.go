package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/users"
)

func TestSignedOutPagesSendToSignIn(t *testing.T) {
	b := setup(t)
	a := send(t, b, http.MethodGet, "/connections?after=x", "", nil)
	require.Equal(t, http.StatusSeeOther, a.StatusCode)
	assert.Equal(t, "/signin?next="+url.QueryEscape("/connections?after=x"), a.Header.Get("Location"))

	// After sign-in the person goes where they were going; only a path
	// on this site is honoured.
	member(t, b, "ana@example.com", users.RoleMember)
	// (nextPath's cases are in session_internal_test.go.)
	for next, want := range map[string]string{"/connections?after=x": "/connections?after=x", "//evil.example/x": "/connections"} {
		a := send(t, b, http.MethodPost, "/signin", "", url.Values{"email": {"ana@example.com"}, "password": {testPassword}, "next": {next}})
		assert.Equal(t, want, a.Header.Get("Location"), "next=%q", next)
	}
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	b := setup(t)
	member(t, b, "ana@example.com", users.RoleMember)
	cookie := signIn(t, b, "ana@example.com", "")
	page := send(t, b, http.MethodGet, "/connections", cookie, nil)
	form := url.Values{"csrf": {csrfOf(t, page.Body)}}

	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		a := send(t, b, http.MethodPost, "/signout", cookie, form, h...)
		assert.Equal(t, http.StatusForbidden, a.StatusCode, "%v", h)
		assert.Contains(t, a.Body, "was not sent from Liaison")
		a = send(t, b, http.MethodPost, "/signin", "", url.Values{"email": {"ana@example.com"}, "password": {testPassword}}, h...)
		assert.Equal(t, http.StatusForbidden, a.StatusCode, "sign-in from another site, %v", h)
		assert.Empty(t, a.sessionCookie())
	}
	// The session is still open: nothing was done.
	assert.Equal(t, http.StatusOK, send(t, b, http.MethodGet, "/connections", cookie, nil).StatusCode)
}

func TestPostWithoutTheFormTokenIsRefused(t *testing.T) {
	b := setup(t)
	member(t, b, "ana@example.com", users.RoleMember)
	cookie := signIn(t, b, "ana@example.com", "")
	for _, form := range []url.Values{{}, {"csrf": {"wrong"}}} {
		a := send(t, b, http.MethodPost, "/signout", cookie, form)
		assert.Equal(t, http.StatusForbidden, a.StatusCode)
		assert.Contains(t, a.Body, "This form could not be accepted")
	}
	assert.Equal(t, http.StatusOK, send(t, b, http.MethodGet, "/connections", cookie, nil).StatusCode, "still signed in")

	page := send(t, b, http.MethodGet, "/connections", cookie, nil)
	a := send(t, b, http.MethodPost, "/signout", cookie, url.Values{"csrf": {csrfOf(t, page.Body)}})
	require.Equal(t, http.StatusSeeOther, a.StatusCode)
	assert.Equal(t, "/signin?done=signed-out", a.Header.Get("Location"))
	assert.Equal(t, http.StatusSeeOther, send(t, b, http.MethodGet, "/connections", cookie, nil).StatusCode, "signed out")
}

func TestSignInRotatesTheSession(t *testing.T) {
	b := setup(t)
	member(t, b, "ana@example.com", users.RoleMember)
	before := signIn(t, b, "ana@example.com", "")
	after := signIn(t, b, "ana@example.com", before)
	assert.NotEqual(t, before, after)
	_, _, err := b.App.Users.Authenticate(context.Background(), before)
	assert.ErrorIs(t, err, users.ErrNoSession, "the cookie from before sign-in still opens a session")
	assert.Equal(t, http.StatusSeeOther, send(t, b, http.MethodGet, "/connections", before, nil).StatusCode)
	assert.Equal(t, http.StatusOK, send(t, b, http.MethodGet, "/connections", after, nil).StatusCode)

	a := send(t, b, http.MethodPost, "/signin", after, url.Values{"email": {"ana@example.com"}, "password": {testPassword}})
	for _, c := range a.Cookies() {
		if c.Name == "liaison_session" {
			assert.True(t, c.HttpOnly)
			assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
			assert.Equal(t, "/", c.Path)
			assert.False(t, c.Secure, "PUBLIC_URL is http here")
		}
	}
}

func TestDisabledUsersSessionStopsAtOnce(t *testing.T) {
	b := setup(t)
	member(t, b, "admin@example.com", users.RoleAdmin)
	u := member(t, b, "ana@example.com", users.RoleMember)
	cookie := signIn(t, b, "ana@example.com", "")
	require.Equal(t, http.StatusOK, send(t, b, http.MethodGet, "/connections", cookie, nil).StatusCode)
	_, err := b.App.Users.Update(context.Background(), u.ID, users.Change{Disabled: new(true)})
	require.NoError(t, err)
	a := send(t, b, http.MethodGet, "/connections", cookie, nil)
	assert.Equal(t, http.StatusSeeOther, a.StatusCode)
	assert.True(t, strings.HasPrefix(a.Header.Get("Location"), "/signin"))
}

func TestAnAccessTokenNeverOpensTheUI(t *testing.T) {
	b := setup(t)
	token := b.Token(t, access.ScopeConnectionsRead, access.ScopeConnectionsWrite)
	a := send(t, b, http.MethodGet, "/connections", "", nil, "Authorization", "Bearer "+token)
	assert.Equal(t, http.StatusSeeOther, a.StatusCode)
	assert.True(t, strings.HasPrefix(a.Header.Get("Location"), "/signin"))
	// The same token opens the API: it is a good one.
	assert.Equal(t, http.StatusOK, send(t, b, http.MethodGet, "/v1/connections", "", nil, "Authorization", "Bearer "+token).StatusCode)
}

func TestASessionNeverOpensTheAPI(t *testing.T) {
	b := setup(t)
	member(t, b, "admin@example.com", users.RoleAdmin)
	cookie := signIn(t, b, "admin@example.com", "")
	a := send(t, b, http.MethodGet, "/v1/connections", cookie, nil)
	assert.Equal(t, http.StatusUnauthorized, a.StatusCode)
	assert.Contains(t, a.Header.Get("Content-Type"), "problem+json")
	assert.Equal(t, http.StatusOK, send(t, b, http.MethodGet, "/healthz", "", nil).StatusCode, "the API's paths still go to the API")
}
