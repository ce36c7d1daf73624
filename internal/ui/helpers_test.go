package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/config"
	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/ui"
	"github.com/liaison/liaison/internal/users"
)

// testPassword is every test user's password.
const testPassword = "correct horse battery"

// setup is the whole web process on a test server.
func setup(t *testing.T) *apptest.WebBundle {
	t.Helper()
	return apptest.SetupWeb(t, config.Config{})
}

// member makes a user who signs in with testPassword.
func member(t *testing.T, b *apptest.WebBundle, email string, role users.Role) users.User {
	t.Helper()
	u, err := b.App.Users.Create(context.Background(), users.Input{Email: email, Password: testPassword, Role: role})
	require.NoError(t, err)
	return u
}

// answer is a page as a plain client sees it: redirects are not followed.
type answer struct {
	*http.Response
	Body string
}

// send sends a request with the cookie (if any) and form (if any) and
// reads the answer; header adds headers.
func send(t *testing.T, b *apptest.WebBundle, method, path, cookie string, form url.Values, header ...string) answer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.URL+path, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: ui.CookieName, Value: cookie})
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{Response: resp, Body: string(raw)}
}

// sessionCookie is the session cookie an answer sets, "" if none.
func (a answer) sessionCookie() string {
	for _, c := range a.Cookies() {
		if c.Name == ui.CookieName {
			return c.Value
		}
	}
	return ""
}

// signIn signs email in through the form, sending cookie (a session from
// before, or ""), and returns the new session's cookie.
func signIn(t *testing.T, b *apptest.WebBundle, email, cookie string) string {
	t.Helper()
	a := send(t, b, http.MethodPost, "/signin", cookie, url.Values{"email": {email}, "password": {testPassword}})
	require.Equal(t, http.StatusSeeOther, a.StatusCode, a.Body)
	c := a.sessionCookie()
	require.NotEmpty(t, c)
	return c
}

// csrfOf is the form token in a page.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	_, after, ok := strings.Cut(page, `name="csrf" value="`)
	require.True(t, ok, "no csrf field in the page")
	token, _, _ := strings.Cut(after, `"`)
	return token
}
