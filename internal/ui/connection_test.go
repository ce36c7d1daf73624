package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/oauthfake"
	"github.com/liaison/liaison/internal/users"
)

// connectedOAuth creates an authorization-code connection at the fake
// provider, with revocation as its revocation endpoint, and connects it
// through the provider and Liaison's callback.
func connectedOAuth(t *testing.T, b *apptest.WebBundle, p *oauthfake.Provider, revocation string) connections.View {
	t.Helper()
	ctx := context.Background()
	v, err := b.App.Connections.Create(ctx, connections.Input{Name: new("CRM"), AuthType: new(connections.AuthOAuth2Code),
		BaseURL: new(p.URL() + "/api"), ClientID: new(apptest.ClientID), ClientSecret: new(apptest.ClientSecret),
		ClientAuth: new(connections.ClientSecretBasic), AuthorizationURL: new(p.AuthorizeURL()), TokenURL: new(p.TokenURL()),
		RevocationURL: new(revocation), Scopes: new([]string{"contacts.read", "offline_access"})})
	require.NoError(t, err)
	u, err := b.App.Connections.AuthorizeURL(ctx, v.ID)
	require.NoError(t, err)
	apptest.Callback(t, p, u).RequireLanded(t, v.ID, true)
	return v
}

func TestConnectionDeleteSaysWhetherTheProviderRevoked(t *testing.T) {
	b := setup(t)
	member(t, b, "ana@example.com", users.RoleMember)
	cookie := signIn(t, b, "ana@example.com", "")
	for _, tc := range []struct {
		name, banner string
		revocation   func(p *oauthfake.Provider) string
		revoked      bool
	}{
		{"revoked", "the other service revoked its tokens", (*oauthfake.Provider).RevokeURL, true},
		// Nothing listens on port 1: the provider cannot be asked.
		{"not revoked", "did not confirm revoking its tokens", func(*oauthfake.Provider) string { return "http://127.0.0.1:1/revoke" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := apptest.Provider(t, b.App.Connections.RedirectURI(), oauthfake.Options{})
			v := connectedOAuth(t, b, p, tc.revocation(p))
			confirm := send(t, b, http.MethodGet, "/connections/"+v.ID+"/delete", cookie, nil)
			require.Equal(t, http.StatusOK, confirm.StatusCode)
			assert.Contains(t, confirm.Body, "This cannot be undone.")

			a := send(t, b, http.MethodPost, "/connections/"+v.ID+"/delete", cookie, url.Values{"csrf": {csrfOf(t, confirm.Body)}})
			require.Equal(t, http.StatusSeeOther, a.StatusCode, a.Body)
			list := send(t, b, http.MethodGet, a.Header.Get("Location"), cookie, nil)
			assert.Contains(t, list.Body, tc.banner)
			assert.Equal(t, tc.revoked, p.GrantRevoked())
			_, err := b.App.Connections.Get(context.Background(), v.ID)
			require.ErrorIs(t, err, connections.ErrNotFound, "deleted whatever the provider said")
		})
	}
}

func TestMemberUsesEveryConnectionScreen(t *testing.T) {
	b := setup(t)
	member(t, b, "ana@example.com", users.RoleMember)
	cookie := signIn(t, b, "ana@example.com", "")
	v, err := b.App.Connections.Create(context.Background(), connections.Input{Name: new("Mailer"), AuthType: new(connections.AuthAPIKey),
		BaseURL: new("https://api.mailer.example"), APIKey: &connections.APIKeyInput{In: new("header"), Name: new("X-Api-Key"), Value: new("key-0123456789")}})
	require.NoError(t, err)
	paths := []string{"/connections", "/connections/new", "/connections/" + v.ID, "/connections/" + v.ID + "/edit", "/connections/" + v.ID + "/delete"}
	for _, typ := range []string{connections.AuthOAuth2Code, connections.AuthOAuth2ClientCredentials, connections.AuthBearer, connections.AuthAPIKey} {
		paths = append(paths, "/connections/new?type="+typ)
	}
	for _, path := range paths {
		a := send(t, b, http.MethodGet, path, cookie, nil)
		assert.Equal(t, http.StatusOK, a.StatusCode, path)
		assert.NotContains(t, a.Body, "key-0123456789", "%s shows the API key", path)
	}

	// An edit with the key left empty keeps it; the member's form token is
	// what the POST needs.
	edit := send(t, b, http.MethodGet, "/connections/"+v.ID+"/edit", cookie, nil)
	assert.Contains(t, edit.Body, "saved — leave empty to keep it")
	form := url.Values{"csrf": {csrfOf(t, edit.Body)}, "name": {"Mailer (EU)"}, "base_url": {"https://api.mailer.example"},
		"api_key.in": {"header"}, "api_key.name": {"X-Api-Key"}, "api_key.value": {""}}
	a := send(t, b, http.MethodPost, "/connections/"+v.ID+"/edit", cookie, form)
	require.Equal(t, http.StatusSeeOther, a.StatusCode, a.Body)
	got, err := b.App.Connections.Get(context.Background(), v.ID)
	require.NoError(t, err)
	assert.Equal(t, "Mailer (EU)", got.Name)
	assert.Equal(t, v.APIKey.Value, got.APIKey.Value, "the key is the one saved before (masked alike)")
	assert.Equal(t, connections.StatusConnected, got.Status)

	for _, action := range []string{"pause", "resume", "test"} {
		a := send(t, b, http.MethodPost, "/connections/"+v.ID+"/"+action, cookie, url.Values{"csrf": {csrfOf(t, edit.Body)}})
		assert.Contains(t, []int{http.StatusOK, http.StatusSeeOther}, a.StatusCode, "%s: %s", action, a.Body)
		assert.NotContains(t, a.Body, "key-0123456789")
	}
	assert.Equal(t, http.StatusForbidden, send(t, b, http.MethodPost, "/connections/"+v.ID+"/pause", cookie, url.Values{}).StatusCode,
		"without the form token")
}

func TestConnectBannerReadsTheConnectionNotTheURL(t *testing.T) {
	b := setup(t)
	member(t, b, "ana@example.com", users.RoleMember)
	cookie := signIn(t, b, "ana@example.com", "")
	v, err := b.App.Connections.Create(context.Background(), connections.Input{Name: new("CRM"), AuthType: new(connections.AuthOAuth2Code),
		BaseURL: new("https://api.crm.example"), ClientID: new("id"), AuthorizationURL: new("https://id.crm.example/authorize"),
		TokenURL: new("https://id.crm.example/token")})
	require.NoError(t, err)

	a := send(t, b, http.MethodGet, "/connections/"+v.ID+"?connect=ok", cookie, nil)
	assert.NotContains(t, a.Body, "Connected:", "a pending connection is not said to be connected, whatever the URL says")
	assert.Contains(t, a.Body, "Not connected. Start again with Connect.")
	a = send(t, b, http.MethodGet, "/connections/"+v.ID+"?connect=%3Cscript%3Ealert(1)%3C/script%3E", cookie, nil)
	assert.NotContains(t, a.Body, "alert(1)")
	assert.Contains(t, a.Header.Get("Content-Security-Policy"), "form-action 'self' https://id.crm.example;",
		"the Connect form may lead to the provider, nowhere else")
}
