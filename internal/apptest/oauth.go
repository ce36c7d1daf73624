package apptest

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/oauthfake"
)

// ClientID and ClientSecret are the OAuth client the tests' connections
// are registered as at the fake provider; the secret holds characters that
// client_secret_basic must escape.
const (
	ClientID     = "liaison-client"
	ClientSecret = "cl1ent+s3cr/t=%:value"
)

// Provider starts a strict fake OAuth provider for the tests' client,
// with redirect as its one redirect URI, client_secret_basic unless opts
// say otherwise, and the scopes contacts.read and offline_access.
func Provider(t *testing.T, redirect string, opts oauthfake.Options) *oauthfake.Provider {
	t.Helper()
	opts.ClientID, opts.ClientSecret, opts.RedirectURIs = ClientID, ClientSecret, []string{redirect}
	if opts.ClientAuth == "" {
		opts.ClientAuth = oauthfake.ClientSecretBasic
	}
	opts.Scopes = []string{"contacts.read", "offline_access"}
	return oauthfake.New(t, opts)
}

// CallbackAnswer is how Liaison's /oauth/callback answered the browser.
type CallbackAnswer struct {
	Status int
	// Location is where a 303 sends the browser: the connection's page.
	Location string
	// Page is the body of an answer that is not a redirect.
	Page string
}

// Callback follows the provider's redirect to Liaison's /oauth/callback,
// as the browser would, and returns Liaison's answer without following
// it further.
func Callback(t *testing.T, p *oauthfake.Provider, authorizeURL string) CallbackAnswer {
	t.Helper()
	back, err := p.Visit(context.Background(), authorizeURL)
	require.NoError(t, err)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(back.String())
	require.NoError(t, err)
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return CallbackAnswer{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Page: string(page)}
}

// RequireLanded requires the answer to send the browser to connection
// id's page saying the authorization worked (ok) or not.
func (a CallbackAnswer) RequireLanded(t *testing.T, id string, ok bool) {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, a.Status, a.Page)
	require.Equal(t, api.CallbackLanding(id, ok), a.Location)
}
