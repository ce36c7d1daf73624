package ui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/users"
)

// memberNav is the main navigation of a member without rights.
var memberNav = []string{"Connections", "Action hooks", "Webhooks", "Deliveries", "Imports", "API calls"}

func TestUsersAdminInvitesAMemberWithALink(t *testing.T) {
	p := openPage(t)
	p.signInNew("admin@example.com", users.RoleAdmin)
	p.click("Users")
	p.click("Invite a user")
	p.waitText("How they get in")
	assert.Equal(t, "Invite a user", p.heading())
	assert.False(t, p.checked("Can manage private integrations"), "off for a member, the default role")
	p.choose("Role", "Admin")
	assert.True(t, p.checked("Can manage private integrations"), "on once Admin is chosen")
	p.choose("Role", "Member")
	assert.False(t, p.checked("Can manage private integrations"), "off again for a member")
	assert.False(t, p.visible(byLabel("Password")), "no password to type for a link")
	p.fill("Email", "ana@example.com")
	p.click("Invite")
	p.waitText("is invited")
	link := p.oneTimeLink("/invite/")
	p.screenshot("users-invite-link")
	p.click("All users")
	p.waitText("Invited — link not used yet")

	// Ana opens the link in a browser of her own.
	ana := tabOn(t, p.b)
	ana.run(chromedp.Navigate(link))
	ana.choosePassword(testPassword, "Set password and sign in")
	ana.waitText("Your password is set.")
	assert.Equal(t, memberNav, ana.nav(), "a member sees neither Users nor Private integrations")
	ana.visit("/users")
	assert.Equal(t, "Not allowed", ana.heading())
	ana.screenshot("users-member-403")

	// The admin gives her the right to manage private integrations.
	p.visit("/users")
	p.waitText("Active")
	p.click("ana@example.com")
	p.waitText("Role and rights")
	assert.Equal(t, "ana@example.com", p.heading())
	assert.False(t, p.checked("Can manage private integrations"))
	p.run(chromedp.Click(byLabel("Can manage private integrations")))
	p.click("Save")
	p.waitText("Saved.")
	assert.True(t, p.checked("Can manage private integrations"))
	ana.visit("/connections")
	assert.Equal(t, append(memberNav[:len(memberNav):len(memberNav)], "Private integrations"), ana.nav())

	// Disabled, her open session ends at once.
	p.click("Disable")
	p.waitText("The user is disabled and signed out everywhere.")
	p.waitText("Disabled")
	p.screenshot("users-disabled")
	ana.visit("/connections")
	assert.Equal(t, "Sign in", ana.heading())
	assert.True(t, strings.HasPrefix(ana.path(), "/signin"), ana.path())
}

func TestUsersResetLinkChangesThePassword(t *testing.T) {
	p := openPage(t)
	member(t, p.b, "admin@example.com", users.RoleAdmin)
	member(t, p.b, "ana@example.com", users.RoleMember)
	ana := tabOn(t, p.b)
	ana.signInAs("ana@example.com", testPassword)

	p.signInAs("admin@example.com", testPassword)
	p.visit("/users")
	p.click("ana@example.com")
	p.click("Make a password reset link")
	p.waitText("Password reset link for ana@example.com")
	link := p.oneTimeLink("/reset/")
	p.screenshot("users-reset-link")

	const newPassword = "a brand new passphrase"
	ana.run(chromedp.Navigate(link))
	assert.Equal(t, "Choose a new password", ana.heading())
	ana.choosePassword(newPassword, "Set new password and sign in")
	ana.waitText("Your password is set.")
	ana.click("Sign out")
	ana.waitText("You are signed out.")

	ana.signInAs("ana@example.com", testPassword)
	ana.waitText("The email or the password is wrong")
	assert.Equal(t, "Sign in", ana.heading(), "the old password no longer works")
	ana.signInAs("ana@example.com", newPassword)
	ana.waitText("Connections")
	assert.Equal(t, "/connections", ana.path())
}

func TestUsersBadInputShowsFieldErrorsAndCreatesNothing(t *testing.T) {
	p := openPage(t)
	p.signInNew("admin@example.com", users.RoleAdmin)
	p.visit("/users/new")

	p.fill("Email", "not an email")
	p.click("Invite")
	p.waitText("is not an email address")
	assert.Equal(t, "Email is not an email address like name@example.com.", p.fieldError("Email"))
	assert.Equal(t, "not an email", p.value("Email"), "what was typed is kept")

	p.fill("Email", "Admin@Example.com")
	p.click("Invite")
	p.waitText("already has an account")
	assert.Equal(t, "Email admin@example.com already has an account.", p.fieldError("Email"))

	p.fill("Email", "ben@example.com")
	p.choose("Role", "Admin")
	p.pick("Set a password now")
	p.fill("Password", "short")
	p.fill("Repeat password", "short")
	p.click("Invite")
	p.waitText("at least 10 are needed")
	assert.Equal(t, "Password is 5 characters long; at least 10 are needed.", p.fieldError("Password"))
	assert.Equal(t, "ben@example.com", p.value("Email"))
	assert.Empty(t, p.value("Password"), "a password is never written back into the page")
	assert.True(t, p.checked("Can manage private integrations"), "the right as it was ticked")
	assert.Equal(t, "admin", get(p, chromedp.Value("#f-role")), "the role as it was chosen")
	p.screenshot("users-new-errors")

	p.fill("Password", testPassword)
	p.fill("Repeat password", "something else entirely")
	p.click("Invite")
	p.waitText("The two passwords are not the same")

	list, err := p.b.App.Users.List(context.Background())
	require.NoError(t, err)
	assert.Len(t, list, 1, "nothing was created")

	p.choosePassword(testPassword, "Invite")
	p.waitText("The user is created.")
	assert.Equal(t, "ben@example.com", p.heading())
	ben := userByEmail(t, p.b.App.Users, "ben@example.com")
	assert.Equal(t, users.RoleAdmin, ben.Role)
	assert.True(t, ben.HasPassword)
}

func TestUsersTheLastAdminIsNotDemotedOrDisabled(t *testing.T) {
	p := openPage(t)
	admin := member(t, p.b, "admin@example.com", users.RoleAdmin)
	p.signInAs("admin@example.com", testPassword)
	p.visit("/users/" + admin.ID)
	p.choose("Role", "Member")
	p.click("Save")
	p.waitText("is the last admin")
	assert.Equal(t, "admin@example.com is the last admin and cannot be demoted; make another user admin first.", p.roleError())
	p.screenshot("users-last-admin")
	p.click("Disable")
	p.waitText("cannot be disabled")

	u, err := p.b.App.Users.Get(context.Background(), admin.ID)
	require.NoError(t, err)
	assert.Equal(t, users.RoleAdmin, u.Role)
	assert.False(t, u.Disabled)
	p.visit("/users")
	assert.Equal(t, "Users", p.heading(), "still an admin, still signed in")
}

func TestUsersListFitsAPhone(t *testing.T) {
	p := openPage(t)
	member(t, p.b, "someone.with.a.long.address@example.com", users.RoleAdmin)
	member(t, p.b, "ana@example.com", users.RoleMember)
	_, _, err := p.b.App.Users.Invite(context.Background(), users.Input{Email: "invited.person.of.the.spring.campaign@example.com"})
	require.NoError(t, err)
	p.width(360)
	p.signInAs("someone.with.a.long.address@example.com", testPassword)
	p.visit("/users")
	p.waitText("Invited — link not used yet")
	assert.LessOrEqual(t, p.scrollWidth(), 360, "the users list scrolls sideways")
	p.screenshot("users-360")
	p.click("Invite a user")
	p.waitText("How they get in")
	assert.LessOrEqual(t, p.scrollWidth(), 360, "the invite form scrolls sideways")
	p.screenshot("users-new-360")
	p.visit("/users")
	p.click("invited.person.of.the.spring.campaign@example.com")
	p.waitText("Role and rights")
	assert.LessOrEqual(t, p.scrollWidth(), 360, "a user's page scrolls sideways")
	p.screenshot("user-360")
}

// oneTimeLink is the link a link page shows, once, after checking that it
// is at path ("/invite/", "/reset/") and works for 72 hours.
func (p *page) oneTimeLink(path string) string {
	p.t.Helper()
	p.waitText("(in 72 hours)")
	link := p.value("One-time link")
	assert.True(p.t, strings.HasPrefix(link, p.b.URL+path), link)
	assert.Equal(p.t, link, p.copied(), "Copy puts the link on the clipboard")
	return link
}

// choosePassword types password twice and clicks button.
func (p *page) choosePassword(password, button string) {
	p.t.Helper()
	p.fill("Password", password)
	p.fill("Repeat password", password)
	p.click(button)
}

// labelled is a script's function that finds the control a label with
// this text is for.
const labelled = `const labelled = (text) => {
	const label = [...document.querySelectorAll("label")].find(l => l.textContent.trim() === text);
	return label && document.getElementById(label.htmlFor);
};`

// choose picks the option with this text in the select labelled label,
// as a person would: the page hears the change.
func (p *page) choose(label, option string) {
	p.t.Helper()
	ok := get(p, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
		`+labelled+`
		const select = labelled(%q);
		const opt = select && [...select.options].find(o => o.textContent.trim() === %q);
		if (!opt) return false;
		select.value = opt.value;
		select.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})()`, label, option)))
	require.True(p.t, ok, "no option %q in %q", option, label)
}

// pick clicks the radio button or checkbox inside the label with this
// text.
func (p *page) pick(label string) {
	p.t.Helper()
	p.run(chromedp.Click(fmt.Sprintf(`//label[normalize-space()=%q]/input`, label)))
}

// checked is whether the checkbox labelled label is ticked.
func (p *page) checked(label string) bool {
	p.t.Helper()
	return get(p, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
		`+labelled+`
		const box = labelled(%q);
		return !!(box && box.checked);
	})()`, label)))
}

// visible is whether the element sel names is shown.
func (p *page) visible(sel string) bool {
	p.t.Helper()
	return get(p, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
		const el = document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
		return !!(el && el.checkVisibility());
	})()`, sel)))
}

// roleError is the error under the Role select.
func (p *page) roleError() string {
	p.t.Helper()
	return strings.TrimSpace(get(p, chromedp.Text("#f-role-error")))
}

// nav is the main navigation's entries.
func (p *page) nav() []string {
	p.t.Helper()
	return get(p, chromedp.Evaluate[[]string](`[...document.querySelectorAll("nav[aria-label=Main] a")].map(a => a.textContent.trim())`))
}
