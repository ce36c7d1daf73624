package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/oauthfake"
	"github.com/liaison/liaison/internal/users"
)

// connect clicks Connect on a connection's page, Allow at the provider,
// and waits for the banner that says the connection named name (any
// name, when "") is connected.
func (p *page) connect(name string) {
	p.t.Helper()
	p.click("Connect")
	p.click("Allow")
	if name == "" {
		p.waitText("Connected: Liaison can now use")
		return
	}
	p.waitText("Connected: Liaison can now use “" + name + "”.")
}

// stored is the connection as the domain holds it.
func (p *page) stored(id string) connections.View {
	p.t.Helper()
	v, err := p.b.App.Connections.Get(context.Background(), id)
	require.NoError(p.t, err)
	return v
}

// consentProvider is the strict fake provider for the app's redirect URI,
// with its consent page.
func consentProvider(p *page) *oauthfake.Provider {
	p.t.Helper()
	return apptest.Provider(p.t, p.b.App.Connections.RedirectURI(), oauthfake.Options{ConsentPage: true, RequirePKCE: true})
}

// fillRow types a key and a value into the first empty row of the list
// of rows named name (headers, authorization_params).
func (p *page) fillRow(name, key, value string) {
	p.t.Helper()
	keyInput := fmt.Sprintf(`(//input[@name=%q][not(@value) or @value=""])[1]`, name+".key")
	valueInput := fmt.Sprintf(`(//input[@name=%q][not(@value) or @value=""])[1]`, name+".value")
	p.run(chromedp.SendKeys(keyInput, key), chromedp.SendKeys(valueInput, value))
}

// clickXPath clicks what sel finds.
func (p *page) clickXPath(sel string) {
	p.t.Helper()
	p.run(chromedp.WaitVisible(sel), chromedp.Click(sel))
}

// createOAuthConnection fills the OAuth2 authorization-code form for the
// fake provider and saves it; it returns the new connection's id.
func (p *page) createOAuthConnection(prov *oauthfake.Provider, name string) string {
	p.t.Helper()
	p.visit("/connections")
	p.click("+ Create")
	p.clickXPath(`//a[contains(., "authorization code")]`)
	p.waitText("Redirect URI")
	p.fill("Name", name)
	p.fill("Description (optional)", "contacts from the CRM")
	p.fill("Client ID", apptest.ClientID)
	p.fill("Client secret (optional)", apptest.ClientSecret)
	p.fill("Authorization URL", prov.AuthorizeURL())
	p.fill("Token URL", prov.TokenURL())
	p.fill("Scopes", "contacts.read offline_access")
	p.fill("Base URL", prov.URL()+"/api")
	p.fillRow("headers", "Version", "2021-07-28")
	p.fillRow("authorization_params", "prompt", "consent")
	p.fill("Test path (optional)", "/me")
	p.screenshot("connection-form-filled")
	p.click("Save")
	p.waitText("The connection is saved.")
	id := strings.TrimPrefix(strings.TrimSuffix(p.path(), "?done=connection-created"), "/connections/")
	require.NotContains(p.t, id, "/")
	return id
}

func TestConnectionCreateCopyConnectAndTest(t *testing.T) {
	p := openPage(t)
	prov := consentProvider(p)
	p.signInNew("ana@example.com", users.RoleMember)

	p.visit("/connections/new?type=" + connections.AuthOAuth2Code)
	assert.Equal(t, p.b.App.Connections.RedirectURI(), p.value("Redirect URI"), "the redirect URI the service uses")
	assert.Equal(t, p.b.App.Connections.RedirectURI(), p.copied(), "Copy put the exact redirect URI on the clipboard")
	p.screenshot("connection-form")

	id := p.createOAuthConnection(prov, "CRM")
	p.waitText("Not connected yet")
	p.screenshot("connection-created")
	v := p.stored(id)
	assert.Equal(t, map[string]string{"Version": "2021-07-28"}, v.Headers, "the header row was saved")
	assert.Equal(t, []string{"contacts.read", "offline_access"}, v.Scopes)
	assert.NotContains(t, p.html(), apptest.ClientSecret, "the secret is never shown again")

	p.click("Connect")
	p.waitText("Liaison wants access to")
	p.screenshot("consent")
	p.click("Allow")
	p.waitText("Connected: Liaison can now use “CRM”.")
	assert.Equal(t, "/connections/"+id+"?connect=ok", p.path())
	asked := prov.LastAuthorizeRequest()
	assert.Equal(t, "consent", asked.Get("prompt"), "the extra authorization parameter reached the provider")
	assert.Equal(t, "S256", asked.Get("code_challenge_method"), "with PKCE, on by default")
	p.waitText("Reconnect")
	p.screenshot("connection-connected")

	p.click("Test")
	p.waitText("Test worked")
	p.waitText("the service answered 200")
	p.screenshot("connection-tested")

	p.width(360)
	p.visit("/connections/" + id)
	p.waitText("Redirect URI")
	assert.LessOrEqual(t, p.scrollWidth(), 360, "the connection page scrolls sideways")
	p.screenshot("connection-360")
	p.visit("/connections/" + id + "/edit")
	p.waitText("Fixed headers")
	assert.LessOrEqual(t, p.scrollWidth(), 360, "the connection form scrolls sideways")
	p.screenshot("connection-edit-360")
}

// oauthStory signs a member in and creates an OAuth2 connection "CRM" at
// a fake provider with its consent page, through the form.
func oauthStory(t *testing.T) (*page, *oauthfake.Provider, string) {
	p := openPage(t)
	prov := consentProvider(p)
	p.signInNew("ana@example.com", users.RoleMember)
	return p, prov, p.createOAuthConnection(prov, "CRM")
}

func TestConnectionDeniedAtTheProviderSaysWhy(t *testing.T) {
	p, _, id := oauthStory(t)

	p.click("Connect")
	p.waitText("Liaison wants access to")
	p.click("Deny")
	p.waitText("Not connected. Access was denied at the provider (access_denied)")
	assert.Equal(t, "/connections/"+id+"?connect=failed", p.path())
	p.waitText("Not connected yet")
	p.screenshot("connection-denied")
}

func TestConnectionEditKeepsTheSecret(t *testing.T) {
	p, prov, id := oauthStory(t)
	p.connect("")

	p.click("Edit")
	p.waitText("Saved — leave empty to keep it")
	assert.Empty(t, p.value("Client secret (optional)"))
	assert.NotContains(t, p.html(), apptest.ClientSecret)
	p.screenshot("connection-edit")
	p.fill("Name", "CRM (spring)")
	p.click("Save")
	p.waitText("Your changes are saved.")
	p.waitText("CRM (spring)")

	// The strict fake checks the client secret of every token request:
	// the refresh authenticates with the one typed at the start.
	before := prov.TokenRequestsByGrant("refresh_token")
	p.click("Refresh now")
	p.waitText("The token was refreshed.")
	assert.Equal(t, before+1, prov.TokenRequestsByGrant("refresh_token"))
	assert.Equal(t, oauthfake.ClientSecretBasic, prov.LastTokenRequest().ClientAuth)
	p.waitText("Refreshed")
	p.screenshot("connection-refreshed")
	assert.Equal(t, connections.StatusConnected, p.stored(id).Status)

	// Other scopes than were allowed: the page says to connect again.
	p.click("Edit")
	p.waitText("Changing the client, its endpoints or the scopes asks you to connect again.")
	p.fill("Scopes", "contacts.read")
	p.click("Save")
	p.waitText("so the old token is dropped: click Reconnect to allow access again.")
	p.waitText("Needs reconnection")
	p.click("Reconnect")
	p.click("Allow")
	p.waitText("Connected: Liaison can now use “CRM (spring)”.")
	assert.Equal(t, "contacts.read", prov.LastAuthorizeRequest().Get("scope"), "the new scopes are asked for")
}

// With only the discovery URL, Liaison finds the endpoints itself: the
// connection connects, and its form then shows what was found.
func TestConnectionFromTheDiscoveryURL(t *testing.T) {
	p := openPage(t)
	prov := consentProvider(p)
	p.signInNew("ana@example.com", users.RoleMember)
	p.visit("/connections/new?type=" + connections.AuthOAuth2Code)
	p.fill("Name", "OpenID service")
	p.fill("Client ID", apptest.ClientID)
	p.fill("Client secret (optional)", apptest.ClientSecret)
	p.fill("Discovery URL (optional)", prov.DiscoveryURL())
	p.fill("Scopes", "contacts.read offline_access")
	p.fill("Base URL", prov.URL()+"/api")
	p.click("Save")
	p.waitText("The connection is saved.")
	p.connect("OpenID service")
	p.click("Edit")
	p.waitText("Saved — leave empty to keep it")
	assert.Equal(t, prov.AuthorizeURL(), p.value("Authorization URL"), "filled from the discovery document")
	assert.Equal(t, prov.TokenURL(), p.value("Token URL"))
}

func TestConnectionBadInputShowsEachErrorAndSavesNothing(t *testing.T) {
	p := openPage(t)
	p.signInNew("ana@example.com", users.RoleMember)
	p.visit("/connections/new?type=" + connections.AuthOAuth2Code)
	p.fill("Client ID", "my-client")
	p.fill("Client secret (optional)", "typed-secret-value")
	p.fill("Authorization URL", "https://id.example.com/authorize")
	p.fill("Token URL", "ftp://id.example.com/token")
	p.fill("Base URL", "http://169.254.169.254/latest")
	p.fill("Test path (optional)", "https://elsewhere.example/me")
	p.fillRow("headers", "Authorization", "Bearer x")
	p.click("Save")
	p.waitText("Name is required")
	p.screenshot("connection-form-errors")

	assert.Equal(t, "Name is required.", p.fieldError("Name"))
	assert.Contains(t, p.fieldError("Token URL"), "Token URL")
	assert.NotEmpty(t, p.fieldError("Base URL"))
	assert.True(t, strings.HasPrefix(p.fieldError("Test path (optional)"), "Test path "), "the label without (optional): %q", p.fieldError("Test path (optional)"))
	p.waitText("cannot be set as a fixed header")
	assert.Contains(t, p.html(), `"Authorization" cannot be set as a fixed header`, "the error names the header")
	assert.Equal(t, "my-client", p.value("Client ID"), "what was typed is kept")
	assert.Equal(t, "ftp://id.example.com/token", p.value("Token URL"))
	assert.Empty(t, p.value("Client secret (optional)"), "a secret is never written back")
	assert.NotContains(t, p.html(), "typed-secret-value")
	views, _, err := p.b.App.Connections.List(context.Background(), "", 10, "")
	require.NoError(t, err)
	assert.Empty(t, views, "nothing was saved")
	p.visit("/connections")
	p.waitText("No connections yet")
}

// Pausing from the page holds a real hook delivery — postponed, no attempt
// used, saying why — and resuming from the page sends it at once.
func TestConnectionPauseAndResume(t *testing.T) {
	p := openPage(t)
	w, err := p.b.App.StartWorker()
	require.NoError(t, err)
	t.Cleanup(w.Shutdown)
	rc := apptest.NewReceiver(t, nil)
	p.signInNew("ana@example.com", users.RoleMember)
	v, err := p.b.App.Connections.Create(context.Background(), connections.Input{Name: new("Mailer"), AuthType: new(connections.AuthBearer),
		BaseURL: new(rc.URL), Token: new("pit-123456")})
	require.NoError(t, err)
	api := p.b.Token(t, access.ScopeEventsWrite, access.ScopeHooksRead, access.ScopeHooksWrite)
	resp, hook := p.b.Do(t, http.MethodPost, "/v1/hooks", api, map[string]any{"name": "mailer", "event_types": []string{"email.opened"}, "connection_id": v.ID, "url": "/opened"})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", hook)

	p.visit("/connections/" + v.ID)
	p.waitText("Pausing makes hook deliveries, API calls and imports through this connection wait")
	p.click("Pause")
	p.waitText("Paused: nothing goes through this connection until you resume it.")
	p.waitText("Paused since")
	p.screenshot("connection-paused")
	p.visit("/connections")
	p.waitText("Paused")

	resp, ev := p.b.Do(t, http.MethodPost, "/v1/events", api, map[string]any{"type": "email.opened"})
	require.Equal(t, http.StatusAccepted, resp.StatusCode, "%v", ev)
	delivery := "/v1/deliveries/" + ev["deliveries"].([]any)[0].(string)
	var d map[string]any
	require.Eventually(t, func() bool { _, d = p.b.Do(t, http.MethodGet, delivery, api, nil); return d["status"] == "postponed" },
		15*time.Second, 20*time.Millisecond, "the delivery waits for the paused connection")
	assert.EqualValues(t, 0, d["attempt_count"], "waiting uses no attempt")
	assert.Equal(t, "waiting: connection "+v.ID+" is paused", d["last_error"])
	assert.Empty(t, rc.Requests(), "nothing goes through a paused connection")

	p.visit("/connections/" + v.ID)
	p.click("Resume")
	p.waitText("Resumed: what waited goes through the connection again.")
	got := rc.WaitFor(t, 1)
	assert.Equal(t, "/opened", got[0].Path)
	require.Eventually(t, func() bool { _, d = p.b.Do(t, http.MethodGet, delivery, api, nil); return d["status"] == "succeeded" },
		15*time.Second, 20*time.Millisecond)
	assert.EqualValues(t, 1, d["attempt_count"])
}

// The list's type tabs filter it, in the URL: a reload or a bookmark
// shows the same list. A connection that needs reconnecting says why.
func TestConnectionListByType(t *testing.T) {
	p := openPage(t)
	p.signInNew("ana@example.com", users.RoleMember)
	ctx := context.Background()
	for _, in := range []connections.Input{
		{Name: new("Mailer"), AuthType: new(connections.AuthBearer), BaseURL: new("https://api.mailer.example"), Token: new("pit-123456")},
		{Name: new("Shop feed"), AuthType: new(connections.AuthAPIKey), BaseURL: new("https://shop.example"),
			APIKey: &connections.APIKeyInput{In: new("header"), Name: new("X-Api-Key"), Value: new("key-0123456789")}},
	} {
		_, err := p.b.App.Connections.Create(ctx, in)
		require.NoError(t, err)
	}
	p.visit("/connections")
	p.waitText("Mailer")
	p.waitText("Shop feed")
	p.click("API key")
	p.waitText("Shop feed")
	assert.Equal(t, "/connections?type="+connections.AuthAPIKey, p.path())
	assert.NotContains(t, p.html(), "Mailer")
	p.run(chromedp.Reload())
	p.waitText("Shop feed")
	assert.NotContains(t, p.html(), "Mailer", "the filter is kept after a reload")
	p.screenshot("connections-by-type")
	p.click("OAuth2 (client credentials)")
	p.waitText("No connections of this type")
	p.click("All")
	p.waitText("Mailer")
	p.waitText("Shop feed")
}

// When the person disconnects the app at the provider, a refresh says the
// connection needs reconnecting and why, on its page and in the list; Reconnect
// goes through the provider again and the connection is connected once more.
func TestConnectionNeedsReconnectionSaysWhyAndReconnects(t *testing.T) {
	p, prov, id := oauthStory(t)
	p.connect("")

	prov.RevokeAll()
	p.click("Refresh now")
	p.waitText("The other service no longer accepts this connection (invalid_grant")
	p.waitText("Click Reconnect to allow Liaison access again.")
	p.waitText("Needs reconnection")
	p.screenshot("connection-needs-reconnection")
	p.visit("/connections")
	p.waitText("Needs reconnection")
	p.waitText("invalid_grant")

	p.visit("/connections/" + id)
	p.click("Reconnect")
	p.waitText("Liaison wants access to")
	p.click("Allow")
	p.waitText("Connected: Liaison can now use “CRM”.")
	assert.Equal(t, connections.StatusConnected, p.stored(id).Status)
	p.click("Test")
	p.waitText("Test worked")
}

// A test the other service fails says so: failed, its status, how long it
// took. One that refuses the token says the connection needs a new one,
// and where to give it.
func TestConnectionTestThatFailsSaysWhy(t *testing.T) {
	p := openPage(t)
	rc := apptest.NewReceiver(t, apptest.AnswerStatuses(http.StatusServiceUnavailable, http.StatusUnauthorized))
	p.signInNew("ana@example.com", users.RoleMember)
	v, err := p.b.App.Connections.Create(context.Background(), connections.Input{Name: new("Mailer"), AuthType: new(connections.AuthBearer),
		BaseURL: new(rc.URL), Token: new("pit-123456"), TestPath: new("/me")})
	require.NoError(t, err)
	p.visit("/connections/" + v.ID)
	p.click("Test")
	p.waitText("Test failed")
	p.waitText("the service answered 503")
	assert.NotContains(t, p.html(), "Service Unavailable", "the status is said once")
	p.screenshot("connection-test-failed")

	p.click("Test")
	p.waitText("Needs reconnection")
	p.waitText("The other service no longer takes the saved token:")
	p.waitText("The connection needs to be reconnected:")
	p.screenshot("connection-token-refused")
	p.click("edit the connection")
	p.waitText("Saved — leave empty to keep it")
	got := rc.WaitFor(t, 2)
	assert.Equal(t, "/me", got[0].Path)
	assert.Equal(t, "Bearer pit-123456", got[0].Header.Get("Authorization"), "the test goes with the connection's credentials")
}
