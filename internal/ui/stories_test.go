package ui_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/users"
)

func TestFirstAdminSetsUpThroughTheLink(t *testing.T) {
	p := openPage(t)
	token, ok, err := p.b.App.Users.SetupLink(context.Background())
	require.NoError(t, err)
	require.True(t, ok)

	p.visit("/setup/" + token)
	assert.Equal(t, "Create the first admin", p.heading())
	p.fill("Email", "boss@example.com")
	p.fill("Password", testPassword)
	p.fill("Repeat password", "something else entirely")
	p.click("Create admin")
	p.waitText("The two passwords are not the same")
	assert.Contains(t, p.fieldError("Repeat password"), "not the same")
	assert.Equal(t, "boss@example.com", p.value("Email"), "the email is kept")
	assert.Empty(t, p.value("Password"), "a password is never written back into the page")
	p.screenshot("setup")

	p.fill("Password", testPassword)
	p.fill("Repeat password", testPassword)
	p.click("Create admin")
	p.waitText("No connections yet")
	assert.Equal(t, "/connections?done=password-set", p.path())
	p.waitText("boss@example.com")
	p.waitText("Users")
	p.screenshot("connections-empty")

	p.visit("/setup/" + token)
	p.waitText("This link no longer works")
	p.waitText("Go to Connections")
	p.screenshot("link-used")
}

func TestSignInWrongPasswordAndSignOut(t *testing.T) {
	p := openPage(t)
	member(t, p.b, "ana@example.com", users.RoleMember)

	p.visit("/connections")
	assert.Equal(t, "/signin?next=%2Fconnections", p.path())
	p.fill("Email", "ana@example.com")
	p.fill("Password", "not the password")
	p.click("Sign in")
	p.waitText("The email or the password is wrong")
	assert.Equal(t, "The email or the password is wrong. Check both and try again.", p.fieldError("Password"))
	assert.Equal(t, "ana@example.com", p.value("Email"))
	p.screenshot("signin-wrong-password")

	p.fill("Password", testPassword)
	p.click("Sign in")
	p.waitText("No connections yet")
	assert.Equal(t, "/connections", p.path())
	cookie := p.sessionCookie()
	require.NotEmpty(t, cookie)

	p.click("Sign out")
	p.waitText("You are signed out.")
	assert.Equal(t, "Sign in", p.heading())
	assert.Empty(t, p.sessionCookie())
	// The old cookie no longer opens anything.
	a := send(t, p.b, http.MethodGet, "/connections", cookie, nil)
	assert.Equal(t, http.StatusSeeOther, a.StatusCode)
	_, _, err := p.b.App.Users.Authenticate(context.Background(), cookie)
	assert.ErrorIs(t, err, users.ErrNoSession)
}

func TestPagesFitAPhone(t *testing.T) {
	p := openPage(t)
	member(t, p.b, "someone.with.a.long.address@example.com", users.RoleAdmin)
	for _, in := range []connections.Input{
		{Name: new("HighLevel sub-account for the spring campaign"), AuthType: new(connections.AuthBearer), BaseURL: new("https://services.leadconnectorhq.com"), Token: new("pit-123456")},
		{Name: new("Mailer"), AuthType: new(connections.AuthOAuth2Code), BaseURL: new("https://api.mailer.example"),
			ClientID: new("client"), ClientSecret: new("secret"), AuthorizationURL: new("https://mailer.example/oauth/authorize"), TokenURL: new("https://mailer.example/oauth/token")},
	} {
		_, err := p.b.App.Connections.Create(context.Background(), in)
		require.NoError(t, err)
	}
	p.width(360)
	p.visit("/signin")
	assert.LessOrEqual(t, p.scrollWidth(), 360, "the sign-in page scrolls sideways")
	p.screenshot("signin-360")

	p.fill("Email", "someone.with.a.long.address@example.com")
	p.fill("Password", testPassword)
	p.click("Sign in")
	p.waitText("Not connected yet")
	assert.LessOrEqual(t, p.scrollWidth(), 360, "the connections page scrolls sideways")
	p.screenshot("connections-360")
}

// Someone without a mouse signs in and starts a connection: Tab reaches
// each field and button in order, Enter sends the form and follows links.
func TestKeyboardAlone(t *testing.T) {
	p := openPage(t)
	member(t, p.b, "ana@example.com", users.RoleMember)
	p.visit("/signin")
	p.tabTo("f-email")
	p.run(chromedp.KeyEvent("ana@example.com"), chromedp.KeyEvent(kb.Tab))
	assert.Equal(t, "f-password", p.focused(), "Tab goes from the email to the password")
	p.run(chromedp.KeyEvent(testPassword), chromedp.KeyEvent(kb.Enter))
	p.waitText("No connections yet")
	assert.Equal(t, "/connections", p.path())

	p.tabTo("+ Create")
	p.run(chromedp.KeyEvent(kb.Enter))
	p.waitText("Bearer token")
	assert.Equal(t, "/connections/new", p.path())
	p.screenshot("keyboard-focus")
}

// tabTo presses Tab until the element with this id, or the link or
// button with this text, has the focus (at most 30 times).
func (p *page) tabTo(target string) {
	p.t.Helper()
	for range 30 {
		p.run(chromedp.KeyEvent(kb.Tab))
		if p.focused() == target {
			return
		}
	}
	p.t.Fatalf("Tab never reached %q", target)
}

// focused is the id of the element that has the focus, or its text when
// it has no id.
func (p *page) focused() string {
	p.t.Helper()
	return get(p, chromedp.Evaluate[string](`document.activeElement.id || document.activeElement.textContent.trim()`))
}
