package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/users"
)

func TestIntegrationLifecycle(t *testing.T) {
	p := openPage(t)
	p.signInNew("admin@example.com", users.RoleAdmin)

	// Create in two steps: basic info, then scopes; Back keeps both.
	p.click("Private integrations")
	p.waitText("Start by creating a private integration")
	p.click("Create new integration")
	p.waitText("Give your integration a name")
	assert.Equal(t, "0 / 200", p.counter("Name"))
	assert.Equal(t, "0 / 500", p.counter("Description"))
	p.fill("Name", "Zapier")
	p.fillText("Description", "Sends our leads on")
	assert.Equal(t, "6 / 200", p.counter("Name"), "the counter follows the typing")
	assert.Equal(t, "18 / 500", p.counter("Description"))
	p.click("Next")
	p.waitText("Grant as few as it needs")
	p.tick("Read connections")
	p.tick("Send events")
	p.click("Back")
	p.waitText("Give your integration a name")
	assert.Equal(t, "Zapier", p.value("Name"))
	assert.Equal(t, "Sends our leads on", p.textValue("Description"))
	p.click("Next")
	p.waitText("Grant as few as it needs")
	assert.True(t, p.ticked("Read connections"), "Back and Next keep the scopes chosen")
	assert.True(t, p.ticked("Send events"))
	assert.False(t, p.ticked("Read action hooks, event webhooks and deliveries"))
	p.screenshot("integration-scopes")
	p.click("Create")

	// The token, once, with a Copy button.
	first := p.copyToken()
	p.screenshot("integration-token")
	assert.Equal(t, http.StatusOK, apiStatus(t, p.b, first, "/v1/connections"), "a scope it has")
	assert.Equal(t, http.StatusForbidden, apiStatus(t, p.b, first, "/v1/hooks"), "a scope it lacks")
	p.run(chromedp.Reload())
	p.waitText("Rotate and expire this token later")
	assert.Equal(t, "Zapier", p.heading(), "reloading shows the integration's page")
	assert.NotContains(t, p.html(), first, "and never the token again")
	id := strings.TrimPrefix(p.path(), "/integrations/")
	require.True(t, strings.HasPrefix(id, "tok_"), p.path())

	p.click("← Private integrations")
	p.waitText("admin@example.com")
	for _, text := range []string{"Zapier", "Sends our leads on", "just now"} {
		p.waitText(text)
	}
	p.screenshot("integrations-list")

	// Rotate and expire later: both work; the page counts down and shows
	// each token's last use.
	p.click("Zapier")
	p.click("Rotate and expire this token later")
	p.waitText("The current token keeps working for 7 days")
	p.screenshot("integration-rotate-later")
	p.click("Continue")
	second := p.copyToken()
	assert.NotEqual(t, first, second)
	p.click("Done")
	p.waitText("The new token becomes the only one in 6 days 23 hours")
	assert.Contains(t, p.section("new-token"), "Last used: Never")
	assert.Contains(t, p.section("old-token"), "Last used: just now", "the old token's last use is kept")
	assert.Equal(t, http.StatusOK, apiStatus(t, p.b, first, "/v1/connections"))
	assert.Equal(t, http.StatusOK, apiStatus(t, p.b, second, "/v1/connections"))
	p.run(chromedp.Reload())
	p.waitText("The new token becomes the only one in")
	assert.Contains(t, p.section("new-token"), "Last used: just now")
	assert.Contains(t, p.section("old-token"), "Last used: just now")
	p.screenshot("integration-rotating")

	// Cancel rotation: the new one stops, the old one works.
	p.click("Cancel rotation")
	p.waitText("The rotation is cancelled")
	assert.Equal(t, http.StatusUnauthorized, apiStatus(t, p.b, second, "/v1/connections"))
	assert.Equal(t, http.StatusOK, apiStatus(t, p.b, first, "/v1/connections"))

	// Rotate later again, then Expire now: the old one stops.
	p.click("Rotate and expire this token later")
	p.click("Continue")
	third := p.copyToken()
	p.click("Done")
	p.click("Expire now")
	p.waitText("The old token has stopped working")
	assert.Equal(t, http.StatusUnauthorized, apiStatus(t, p.b, first, "/v1/connections"))
	assert.Equal(t, http.StatusOK, apiStatus(t, p.b, third, "/v1/connections"))
	assert.NotContains(t, p.html(), "The new token becomes the only one")

	// Rotate now: the old one is dead at once.
	p.click("Rotate and expire this token now")
	p.waitText("the current token stops working at once")
	p.click("Continue")
	fourth := p.copyToken()
	assert.Equal(t, http.StatusUnauthorized, apiStatus(t, p.b, third, "/v1/connections"))
	assert.Equal(t, http.StatusOK, apiStatus(t, p.b, fourth, "/v1/connections"))

	// Edit: the same token, with the new scopes.
	p.click("Done")
	p.click("Edit")
	p.waitText("Saving does not make a new token")
	assert.Equal(t, "Zapier", p.value("Name"))
	assert.True(t, p.ticked("Read connections"))
	p.screenshot("integration-edit")
	p.fill("Name", "Zapier leads")
	p.tick("Read connections")
	p.tick("Read action hooks, event webhooks and deliveries")
	p.click("Save")
	p.waitText("The integration is saved")
	assert.Equal(t, "Zapier leads", p.heading())
	p.waitText("Read action hooks, event webhooks and deliveries")
	assert.Equal(t, http.StatusOK, apiStatus(t, p.b, fourth, "/v1/hooks"), "the same token has the new scope")
	assert.Equal(t, http.StatusForbidden, apiStatus(t, p.b, fourth, "/v1/connections"), "and no longer the one taken away")

	// Delete, after a confirmation.
	p.click("Delete")
	p.waitText("This cannot be undone")
	p.click("Delete integration")
	p.waitText("The integration is deleted")
	p.waitText("Start by creating a private integration")
	assert.Equal(t, http.StatusUnauthorized, apiStatus(t, p.b, fourth, "/v1/hooks"))
}

func TestIntegrationFormShowsErrorsAndSavesNothing(t *testing.T) {
	p := openPage(t)
	member(t, p.b, "admin@example.com", users.RoleAdmin)
	before, err := p.b.App.Tokens.Count(context.Background())
	require.NoError(t, err)
	p.signInAs("admin@example.com", testPassword)

	p.visit("/integrations/new")
	p.fillText("Description", "Kept")
	p.click("Next")
	p.waitText("Name must not be empty.")
	assert.Equal(t, "Name must not be empty.", p.fieldError("Name"))
	assert.Equal(t, "Kept", p.textValue("Description"), "what was typed is kept")

	long := strings.Repeat("n", access.MaxNameLength+1)
	p.fill("Name", long)
	assert.Equal(t, "201 / 200", p.counter("Name"))
	p.click("Next")
	p.waitText("at most 200 are allowed")
	assert.Equal(t, "Name is 201 characters long; at most 200 are allowed.", p.fieldError("Name"))
	assert.Equal(t, long, p.value("Name"))
	p.screenshot("integration-name-too-long")

	p.fill("Name", "Zapier")
	p.click("Next")
	p.waitText("Grant as few as it needs")
	p.click("Create")
	p.waitText("Choose at least one scope.")
	p.screenshot("integration-no-scope")
	p.click("Back")
	p.waitText("Give your integration a name")
	assert.Equal(t, "Zapier", p.value("Name"), "the first step's values came along")
	assert.Equal(t, "Kept", p.textValue("Description"))

	after, err := p.b.App.Tokens.Count(context.Background())
	require.NoError(t, err)
	assert.Equal(t, before, after, "nothing was created")
}

func TestMemberWithoutTheRightSeesNoIntegrations(t *testing.T) {
	p := openPage(t)
	member(t, p.b, "ana@example.com", users.RoleMember)
	issued, err := p.b.App.Tokens.Create(context.Background(), access.Input{Name: new("Zapier"), Scopes: &[]string{access.ScopeEventsWrite}}, access.ByCommandLine("root"))
	require.NoError(t, err)
	p.signInAs("ana@example.com", testPassword)
	p.waitText("Connections")
	assert.NotContains(t, p.html(), "Private integrations", "no menu entry")
	for _, path := range []string{"/integrations", "/integrations/new", "/integrations/" + issued.ID, "/integrations/" + issued.ID + "/edit"} {
		p.visit(path)
		p.waitText("You do not have access to this page")
		assert.Equal(t, "Not allowed", p.heading(), path)
	}
}

func TestIntegrationPagesFitAPhone(t *testing.T) {
	p := openPage(t)
	u := member(t, p.b, "someone.with.a.long.address@example.com", users.RoleAdmin)
	issued, err := p.b.App.Tokens.Create(context.Background(), access.Input{
		Name:        new("HighLevel sub-account sync for the spring campaign"),
		Description: new("Sends every new lead of the landing pages to the CRM, and reads the connections it needs to do so."),
		Scopes:      &access.AllScopes,
	}, access.ByUser(u.Email))
	require.NoError(t, err)
	_, err = p.b.App.Tokens.Rotate(context.Background(), issued.ID, false)
	require.NoError(t, err)
	p.width(360)
	p.signInAs(u.Email, testPassword)

	p.visit("/integrations")
	p.waitText("HighLevel sub-account sync")
	assert.LessOrEqual(t, p.scrollWidth(), 360, "the list scrolls sideways")
	p.screenshot("integrations-360")
	p.click("HighLevel sub-account sync for the spring campaign")
	p.waitText("The new token becomes the only one in")
	assert.LessOrEqual(t, p.scrollWidth(), 360, "the detail page scrolls sideways")
	p.screenshot("integration-360")
	p.visit("/integrations/new")
	p.waitText("Give your integration a name")
	assert.LessOrEqual(t, p.scrollWidth(), 360, "the create form scrolls sideways")
}

// byFieldLabel is the input or textarea the label with this text is for.
func byFieldLabel(label string) string {
	return fmt.Sprintf(`//*[(self::input or self::textarea) and @id=//label[normalize-space()=%q]/@for]`, label)
}

// fillText types value into the input or textarea labelled label.
func (p *page) fillText(label, value string) {
	p.t.Helper()
	get(p, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`%s.value = ""`, xpathNode(byFieldLabel(label)))))
	p.run(chromedp.SendKeys(byFieldLabel(label), value))
}

// textValue is what the input or textarea labelled label holds.
func (p *page) textValue(label string) string {
	p.t.Helper()
	return get(p, chromedp.Value(byFieldLabel(label)))
}

// counter is the live counter under the field labelled label.
func (p *page) counter(label string) string {
	p.t.Helper()
	return strings.TrimSpace(get(p, chromedp.Text(byFieldLabel(label)+`/following-sibling::p[contains(@class, "counter")]`)))
}

// checkbox is the checkbox inside the label with this text.
func checkbox(label string) string {
	return fmt.Sprintf(`//label[normalize-space()=%q]/input[@type="checkbox"]`, label)
}

// tick clicks the checkbox labelled label.
func (p *page) tick(label string) {
	p.t.Helper()
	p.run(chromedp.WaitVisible(checkbox(label)), chromedp.Click(checkbox(label)))
}

// ticked reports whether the checkbox labelled label is ticked.
func (p *page) ticked(label string) bool {
	p.t.Helper()
	return get(p, chromedp.Evaluate[bool](xpathNode(checkbox(label))+".checked"))
}

// xpathNode is the JavaScript expression of the first node an XPath
// selects.
func xpathNode(xpath string) string {
	return fmt.Sprintf(`document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue`, xpath)
}

// section is the text of the section headed by the heading with this id.
func (p *page) section(heading string) string {
	p.t.Helper()
	return get(p, chromedp.Text(chromedp.CSS(fmt.Sprintf(`section[aria-labelledby=%q]`, heading))))
}

// copyToken waits for a token shown once, clicks its Copy button and
// returns what reached the clipboard, checking it is what the page shows.
func (p *page) copyToken() string {
	p.t.Helper()
	p.waitText("Copy this token now. It will not be shown again.")
	shown := get(p, chromedp.Value(chromedp.ID("token")))
	require.True(p.t, access.WellFormed(shown), "the page shows a token: %q", shown)
	copied := p.copied()
	require.Equal(p.t, shown, copied, "Copy puts the token on the clipboard")
	return copied
}

// apiStatus is the status of GET path on the API with the token.
func apiStatus(t *testing.T, b *apptest.WebBundle, token, path string) int {
	t.Helper()
	return send(t, b, http.MethodGet, path, "", nil, "Authorization", "Bearer "+token).StatusCode
}
