package apptest

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

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

// Callback follows the provider's redirect to Liaison's /oauth/callback,
// as the browser would, and returns the page.
func Callback(t *testing.T, p *oauthfake.Provider, authorizeURL string) (int, string) {
	t.Helper()
	back, err := p.Visit(context.Background(), authorizeURL)
	require.NoError(t, err)
	resp, err := http.Get(back.String())
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	page, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(page)
}
