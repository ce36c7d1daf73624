package oauthfake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/liaison/liaison/internal/clocktest"
	"github.com/liaison/liaison/internal/oauthfake"
)

const (
	clientID = "liaison-test"
	// The secret holds characters that RFC 6749 §2.3.1 form-encoding
	// changes, so a client that skips the encoding fails.
	clientSecret = "s3cr+t/=%:x"
	redirectURI  = "http://liaison.test/oauth/callback"
)

type testBundle struct {
	p     *oauthfake.Provider
	cfg   *oauth2.Config
	clock *clocktest.Clock
}

// setup starts a provider; opts fields left zero get the test defaults.
func setup(t *testing.T, opts oauthfake.Options) *testBundle {
	t.Helper()
	c := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if opts.ClientID == "" {
		opts.ClientID = clientID
	}
	if opts.ClientAuth == "" && opts.ClientSecret != "-" {
		opts.ClientAuth = oauthfake.ClientSecretBasic
	}
	switch opts.ClientSecret {
	case "":
		opts.ClientSecret = clientSecret
	case "-": // a public client
		opts.ClientSecret = ""
	}
	if opts.RedirectURIs == nil {
		opts.RedirectURIs = []string{redirectURI}
	}
	if opts.Scopes == nil {
		opts.Scopes = []string{"contacts.read", "contacts.write", "offline_access"}
	}
	if opts.Now == nil {
		opts.Now = c.Now
	}
	p := oauthfake.New(t, opts)
	style := oauth2.AuthStyleInHeader
	if opts.ClientAuth == oauthfake.ClientSecretPost || opts.ClientSecret == "" {
		style = oauth2.AuthStyleInParams
	}
	cfg := &oauth2.Config{
		ClientID:     opts.ClientID,
		ClientSecret: opts.ClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: p.AuthorizeURL(), TokenURL: p.TokenURL(), AuthStyle: style},
		RedirectURL:  redirectURI,
		Scopes:       []string{"contacts.read", "offline_access"},
	}
	return &testBundle{p: p, cfg: cfg, clock: c}
}

// authorize runs the browser part and returns a code and its PKCE verifier.
func (b *testBundle) authorize(t *testing.T) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	loc, err := b.p.Visit(t.Context(), b.cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)))
	require.NoError(t, err)
	require.Equal(t, "state-1", loc.Query().Get("state"))
	require.Empty(t, loc.Query().Get("error"))
	return loc.Query().Get("code"), verifier
}

func (b *testBundle) connect(t *testing.T) *oauth2.Token {
	t.Helper()
	code, verifier := b.authorize(t)
	tok, err := b.cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	return tok
}

// get calls a protected resource with an access token.
func get(t *testing.T, p *oauthfake.Provider, path, accessToken string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.ResourceURL(path), nil)
	require.NoError(t, err)
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	resp, err := p.Client().Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// postForm sends a raw form to an endpoint, for requests oauth2 would not make.
func postForm(t *testing.T, endpoint string, form url.Values, edit func(*http.Request)) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var body map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &body), string(raw))
	}
	return resp.StatusCode, body, resp.Header
}

func retrieveError(t *testing.T, err error) *oauth2.RetrieveError {
	t.Helper()
	var re *oauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	return re
}

func TestAuthorizationCodeFlow(t *testing.T) {
	t.Parallel()
	for _, method := range []string{oauthfake.ClientSecretBasic, oauthfake.ClientSecretPost} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			b := setup(t, oauthfake.Options{ClientAuth: method, RequirePKCE: true})
			tok := b.connect(t)

			require.Equal(t, "Bearer", tok.TokenType)
			require.NotEmpty(t, tok.RefreshToken)
			require.Equal(t, "contacts.read offline_access", tok.Extra("scope"))
			require.WithinDuration(t, time.Now().Add(time.Hour), tok.Expiry, time.Minute)

			last := b.p.LastTokenRequest()
			require.Equal(t, method, last.ClientAuth)
			require.Equal(t, "authorization_code", last.Form.Get("grant_type"))
			require.NotEmpty(t, last.Form.Get("code_verifier"))
			require.Equal(t, "S256", b.p.LastAuthorizeRequest().Get("code_challenge_method"))

			resp, err := b.cfg.Client(t.Context(), tok).Get(b.p.ResourceURL("me"))
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			var me map[string]string
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&me))
			require.Equal(t, "user-1", me["sub"])
			require.Equal(t, clientID, me["client_id"])

			require.Equal(t, 1, b.p.TokenRequestsByGrant("authorization_code"))
			require.Equal(t, 1, b.p.Requests("/api/me"))
			require.False(t, b.p.GrantRevoked())
		})
	}
}

func TestTokenResponseHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{ClientAuth: oauthfake.ClientSecretPost})
	code, verifier := b.authorize(t)
	status, body, h := postForm(t, b.p.TokenURL(), url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}, "client_id": {clientID}, "client_secret": {clientSecret},
	}, nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "no-store", h.Get("Cache-Control"))
	require.Equal(t, "Bearer", body["token_type"])
	require.EqualValues(t, 3600, body["expires_in"])
	require.NotEmpty(t, body["refresh_token"])
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{RotateRefreshTokens: true})
	first := b.connect(t)

	b.clock.Advance(2 * time.Hour)
	require.Equal(t, http.StatusUnauthorized, get(t, b.p, "me", first.AccessToken).StatusCode)

	// An expired token makes oauth2 refresh; rotation hands back a new refresh token.
	stale := &oauth2.Token{RefreshToken: first.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
	second, err := b.cfg.TokenSource(t.Context(), stale).Token()
	require.NoError(t, err)
	require.NotEqual(t, first.RefreshToken, second.RefreshToken)
	require.Equal(t, http.StatusOK, get(t, b.p, "me", second.AccessToken).StatusCode)
	require.Empty(t, b.p.Violations())

	// The retired refresh token again: the whole grant goes.
	b.p.ExpectViolations()
	_, err = b.cfg.TokenSource(t.Context(), stale).Token()
	require.Equal(t, "invalid_grant", retrieveError(t, err).ErrorCode)
	require.True(t, b.p.GrantRevoked())
	require.Equal(t, "refresh token reused after rotation", b.p.Grants()[0].RevokedBecause)
	require.Equal(t, http.StatusUnauthorized, get(t, b.p, "me", second.AccessToken).StatusCode)
	_, err = b.cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: second.RefreshToken}).Token()
	require.Equal(t, "invalid_grant", retrieveError(t, err).ErrorCode)

	v := b.p.Violations()
	require.Len(t, v, 1)
	require.Contains(t, v[0], "refresh token reused after rotation")
	require.Equal(t, 3, b.p.TokenRequestsByGrant("refresh_token"))
}

func TestRefreshWithoutRotationKeepsRefreshToken(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{})
	first := b.connect(t)

	for range 2 {
		tok, err := b.cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
		require.NoError(t, err)
		// No refresh_token in the answer: oauth2 keeps the old one, as Liaison must.
		require.Equal(t, first.RefreshToken, tok.RefreshToken)
		require.NotEqual(t, first.AccessToken, tok.AccessToken)
	}
	require.Equal(t, 2, b.p.TokenRequestsByGrant("refresh_token"))
	require.False(t, b.p.GrantRevoked())
}

func TestRefreshScope(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{})
	tok := b.connect(t)
	form := func(scope string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {scope}}
	}
	basic := func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret)) }

	status, body, _ := postForm(t, b.p.TokenURL(), form("contacts.read"), basic)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "contacts.read", body["scope"])
	require.Empty(t, b.p.Violations())

	b.p.ExpectViolations()
	status, body, _ = postForm(t, b.p.TokenURL(), form("contacts.read contacts.write"), basic)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_scope", body["error"])
	require.Len(t, b.p.Violations(), 1)
}

func TestConcurrentRefreshIsCaught(t *testing.T) {
	t.Parallel()
	// What a missing single-flight looks like from the provider's side.
	b := setup(t, oauthfake.Options{RotateRefreshTokens: true})
	tok := b.connect(t)
	b.p.SlowToken(20 * time.Millisecond)
	b.p.ExpectViolations()

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = b.cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	require.Equal(t, 1, ok)
	require.Equal(t, 8, b.p.TokenRequestsByGrant("refresh_token"))
	require.True(t, b.p.GrantRevoked())
	require.Len(t, b.p.Violations(), 7)
}

func TestCodeReuseRevokesTokens(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{})
	code, verifier := b.authorize(t)
	tok, err := b.cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, get(t, b.p, "me", tok.AccessToken).StatusCode)

	b.p.ExpectViolations()
	_, err = b.cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	require.Equal(t, "invalid_grant", retrieveError(t, err).ErrorCode)
	require.True(t, b.p.GrantRevoked())
	require.Equal(t, http.StatusUnauthorized, get(t, b.p, "me", tok.AccessToken).StatusCode)
	_, err = b.cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	require.Equal(t, "invalid_grant", retrieveError(t, err).ErrorCode)
	require.Len(t, b.p.Violations(), 1)
	require.Contains(t, b.p.Violations()[0], "authorization code reused")
}

func TestCodeExpires(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{})
	code, verifier := b.authorize(t)
	b.clock.Advance(oauthfake.CodeTTL)
	b.p.ExpectViolations()
	_, err := b.cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	require.Equal(t, "invalid_grant", retrieveError(t, err).ErrorCode)
	require.Contains(t, b.p.Violations()[0], "expired")
}

// exchangeAuthStyle exchanges the code with the client authenticating in
// style instead of as it is registered; the provider is told to expect the
// violation.
func (b *testBundle) exchangeAuthStyle(t *testing.T, style oauth2.AuthStyle, code, verifier string) error {
	t.Helper()
	cfg := *b.cfg
	cfg.Endpoint.AuthStyle = style
	b.p.ExpectViolations()
	_, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	return err
}

func TestWrongClientAuthMethodBurnsCode(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{ClientAuth: oauthfake.ClientSecretPost})
	code, verifier := b.authorize(t)

	err := b.exchangeAuthStyle(t, oauth2.AuthStyleInHeader, code, verifier)
	re := retrieveError(t, err)
	require.Equal(t, "invalid_client", re.ErrorCode)
	require.Equal(t, http.StatusUnauthorized, re.Response.StatusCode)
	require.Contains(t, re.Response.Header.Get("WWW-Authenticate"), "Basic")
	require.Equal(t, oauthfake.ClientSecretBasic, b.p.LastTokenRequest().ClientAuth)

	// The right method now is too late: the code was burnt.
	_, err = b.cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	require.Equal(t, "invalid_grant", retrieveError(t, err).ErrorCode)

	v := b.p.Violations()
	require.Len(t, v, 2)
	require.Contains(t, v[0], "client authenticated with client_secret_basic; this client is registered for client_secret_post")
	require.Contains(t, v[1], "reused")
}

func TestAutoDetectedAuthStyleLosesTheCode(t *testing.T) {
	t.Parallel()
	// oauth2's auto-detection tries the header, then the body, with the same
	// code: a strict provider makes that fail, so Liaison must set the style.
	b := setup(t, oauthfake.Options{ClientAuth: oauthfake.ClientSecretPost})
	code, verifier := b.authorize(t)
	err := b.exchangeAuthStyle(t, oauth2.AuthStyleAutoDetect, code, verifier)
	require.Error(t, err)
	require.Equal(t, 2, b.p.TokenRequests())
	require.NotEmpty(t, b.p.Violations())
}

func TestClientAuthStrictness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		auth   string
		form   url.Values
		edit   func(*http.Request)
		status int
		err    string
	}{
		{
			name: "both methods at once", auth: oauthfake.ClientSecretBasic,
			form:   url.Values{"client_id": {clientID}, "client_secret": {clientSecret}},
			edit:   func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret)) },
			status: http.StatusBadRequest, err: "invalid_request",
		},
		{
			name: "basic without form-encoding", auth: oauthfake.ClientSecretBasic,
			edit:   func(r *http.Request) { r.SetBasicAuth(clientID, clientSecret) },
			status: http.StatusUnauthorized, err: "invalid_client",
		},
		{
			name: "wrong secret", auth: oauthfake.ClientSecretPost,
			form:   url.Values{"client_id": {clientID}, "client_secret": {"nope"}},
			status: http.StatusUnauthorized, err: "invalid_client",
		},
		{
			name: "no authentication", auth: oauthfake.ClientSecretPost,
			status: http.StatusUnauthorized, err: "invalid_client",
		},
		{
			name: "post to a basic client", auth: oauthfake.ClientSecretBasic,
			form:   url.Values{"client_id": {clientID}, "client_secret": {clientSecret}},
			status: http.StatusUnauthorized, err: "invalid_client",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, oauthfake.Options{ClientAuth: tt.auth})
			b.p.ExpectViolations()
			form := url.Values{"grant_type": {"client_credentials"}}
			for k, v := range tt.form {
				form[k] = v
			}
			status, body, _ := postForm(t, b.p.TokenURL(), form, tt.edit)
			require.Equal(t, tt.status, status, body)
			require.Equal(t, tt.err, body["error"])
			require.Len(t, b.p.Violations(), 1)
		})
	}
}

func TestTokenEndpointRefusesWhatIsNotAForm(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{ClientAuth: oauthfake.ClientSecretPost})
	b.p.ExpectViolations()
	creds := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.p.TokenURL(),
		strings.NewReader(`{"grant_type":"client_credentials"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	status, body, _ := postForm(t, b.p.TokenURL()+"?client_secret=x", creds, nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_request", body["error"])

	twice := url.Values{"grant_type": {"client_credentials", "client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}
	status, body, _ = postForm(t, b.p.TokenURL(), twice, nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_request", body["error"])

	resp, err = http.Get(b.p.TokenURL())
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	status, body, _ = postForm(t, b.p.TokenURL(), url.Values{"grant_type": {"password"}, "client_id": {clientID}, "client_secret": {clientSecret}}, nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "unsupported_grant_type", body["error"])

	require.Len(t, b.p.Violations(), 5)
	require.Equal(t, 5, b.p.TokenRequests())
}

func TestPublicClient(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{ClientSecret: "-", RequirePKCE: true})
	tok := b.connect(t)
	require.Equal(t, oauthfake.ClientAuthNone, b.p.LastTokenRequest().ClientAuth)
	_, err := b.cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	require.NoError(t, err)
	require.Empty(t, b.p.Violations())

	// Basic with an empty secret is not how a public client identifies itself.
	header := *b.cfg
	header.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	b.p.ExpectViolations()
	_, err = header.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	require.Equal(t, "invalid_client", retrieveError(t, err).ErrorCode)

	status, body, _ := postForm(t, b.p.TokenURL(), url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}}, nil)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "unauthorized_client", body["error"])
	require.Len(t, b.p.Violations(), 2)
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	// Creatio Identity Service: form-encoded client_credentials, 3600 s tokens.
	b := setup(t, oauthfake.Options{ClientAuth: oauthfake.ClientSecretPost})
	cc := clientcredentials.Config{
		ClientID: clientID, ClientSecret: clientSecret, TokenURL: b.p.TokenURL(),
		Scopes: []string{"contacts.read"}, AuthStyle: oauth2.AuthStyleInParams,
	}
	tok, err := cc.Token(t.Context())
	require.NoError(t, err)
	require.Empty(t, tok.RefreshToken)
	require.Equal(t, "contacts.read", tok.Extra("scope"))
	require.WithinDuration(t, time.Now().Add(3600*time.Second), tok.Expiry, time.Minute)
	require.Equal(t, http.StatusOK, get(t, b.p, "me", tok.AccessToken).StatusCode)
	require.Equal(t, 1, b.p.TokenRequestsByGrant("client_credentials"))

	cc.Scopes = []string{"admin"}
	b.p.ExpectViolations()
	_, err = cc.Token(t.Context())
	require.Equal(t, "invalid_scope", retrieveError(t, err).ErrorCode)
	require.Len(t, b.p.Violations(), 1)
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{ClientAuth: oauthfake.ClientSecretPost})
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		resp, err := http.Get(b.p.URL() + path)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
		resp.Body.Close()
		require.Equal(t, b.p.Issuer(), doc["issuer"], path)
		require.Equal(t, b.p.AuthorizeURL(), doc["authorization_endpoint"])
		require.Equal(t, b.p.TokenURL(), doc["token_endpoint"])
		require.Equal(t, b.p.RevokeURL(), doc["revocation_endpoint"])
		require.Equal(t, []any{"client_secret_post"}, doc["token_endpoint_auth_methods_supported"])
		require.Equal(t, []any{"S256"}, doc["code_challenge_methods_supported"])
		require.ElementsMatch(t, []any{"authorization_code", "refresh_token", "client_credentials"}, doc["grant_types_supported"])
		require.ElementsMatch(t, []any{"contacts.read", "contacts.write", "offline_access"}, doc["scopes_supported"])
	}
	require.Equal(t, b.p.DiscoveryURL(), b.p.URL()+"/.well-known/openid-configuration")
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{})
	basic := func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret)) }

	tok := b.connect(t)
	status, _, _ := postForm(t, b.p.RevokeURL(), url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}, basic)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, http.StatusUnauthorized, get(t, b.p, "me", tok.AccessToken).StatusCode)
	require.False(t, b.p.GrantRevoked(), "revoking an access token leaves the grant")

	// The hint is wrong on purpose: the server looks everywhere.
	status, _, _ = postForm(t, b.p.RevokeURL(), url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"access_token"}}, basic)
	require.Equal(t, http.StatusOK, status)
	require.True(t, b.p.GrantRevoked())
	_, err := b.cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	require.Equal(t, "invalid_grant", retrieveError(t, err).ErrorCode)

	status, _, _ = postForm(t, b.p.RevokeURL(), url.Values{"token": {"never-issued"}}, basic)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, b.p.Violations(), "refusals caused by revocation are not the client's fault")

	b.p.ExpectViolations()

	status, body, h := postForm(t, b.p.RevokeURL(), url.Values{"token": {"x"}}, func(r *http.Request) { r.SetBasicAuth(clientID, "wrong") })
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, "invalid_client", body["error"])
	require.NotEmpty(t, h.Get("WWW-Authenticate"))
	require.Len(t, b.p.Violations(), 1)
}

func TestAccessTokenExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{AccessTTL: 10 * time.Minute})
	tok := b.connect(t)
	require.WithinDuration(t, time.Now().Add(10*time.Minute), tok.Expiry, time.Minute)

	b.clock.Advance(9 * time.Minute)
	require.Equal(t, http.StatusOK, get(t, b.p, "me", tok.AccessToken).StatusCode)
	b.clock.Advance(time.Minute)
	resp := get(t, b.p, "me", tok.AccessToken)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
	require.Contains(t, resp.Header.Get("WWW-Authenticate"), "expired")

	fresh, err := b.cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, get(t, b.p, "me", fresh.AccessToken).StatusCode)

	b.p.ExpireAll()
	require.Equal(t, http.StatusUnauthorized, get(t, b.p, "me", fresh.AccessToken).StatusCode)

	resp = get(t, b.p, "me", "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, `Bearer realm="oauthfake"`, resp.Header.Get("WWW-Authenticate"))
}

func TestFailureInjection(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{RotateRefreshTokens: true})
	tok := b.connect(t)
	refresh := func(ctx context.Context, rt string) (*oauth2.Token, error) {
		return b.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
	}

	b.p.FailNextToken(2, http.StatusServiceUnavailable, "")
	for range 2 {
		_, err := refresh(t.Context(), tok.RefreshToken)
		require.Equal(t, http.StatusServiceUnavailable, retrieveError(t, err).Response.StatusCode)
	}
	b.p.FailNextToken(1, http.StatusBadRequest, `{"error":"invalid_grant"}`)
	_, err := refresh(t.Context(), tok.RefreshToken)
	require.Equal(t, "invalid_grant", retrieveError(t, err).ErrorCode)

	// Injected failures touch nothing: the refresh token still works once.
	next, err := refresh(t.Context(), tok.RefreshToken)
	require.NoError(t, err)
	require.False(t, b.p.GrantRevoked())
	require.Empty(t, b.p.Violations())
	require.Equal(t, 4, b.p.TokenRequestsByGrant("refresh_token"))

	// A client that gives up on a slow provider has still had its refresh
	// token rotated; retrying with the old one is a reuse.
	b.p.ExpectViolations()
	b.p.SlowToken(time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = refresh(ctx, next.RefreshToken)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	b.p.SlowToken(0)
	_, err = refresh(t.Context(), next.RefreshToken)
	require.Equal(t, "invalid_grant", retrieveError(t, err).ErrorCode)
	require.True(t, b.p.GrantRevoked())

	b2 := setup(t, oauthfake.Options{})
	tok2 := b2.connect(t)
	b2.p.RevokeAll()
	_, err = b2.cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token()
	require.Equal(t, "invalid_grant", retrieveError(t, err).ErrorCode)
	require.Equal(t, http.StatusUnauthorized, get(t, b2.p, "me", tok2.AccessToken).StatusCode)
}

func TestAuthorizeRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(url.Values)
		page  bool   // refused with a page, not a redirect
		error string // error in the redirect
	}{
		{name: "unknown client", edit: func(q url.Values) { q.Set("client_id", "other") }, page: true},
		{name: "redirect_uri with a trailing slash", edit: func(q url.Values) { q.Set("redirect_uri", redirectURI+"/") }, page: true},
		{name: "no redirect_uri", edit: func(q url.Values) { q.Del("redirect_uri") }, page: true},
		{name: "no state", edit: func(q url.Values) { q.Del("state") }, error: "invalid_request"},
		{name: "token response type", edit: func(q url.Values) { q.Set("response_type", "token") }, error: "unsupported_response_type"},
		{name: "no PKCE", edit: func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, error: "invalid_request"},
		{name: "plain PKCE", edit: func(q url.Values) {
			q.Set("code_challenge", oauth2.GenerateVerifier())
			q.Set("code_challenge_method", "plain")
		}, error: "invalid_request"},
		{name: "PKCE without method", edit: func(q url.Values) { q.Del("code_challenge_method") }, error: "invalid_request"},
		{name: "unknown scope", edit: func(q url.Values) { q.Set("scope", "contacts.read admin") }, error: "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, oauthfake.Options{RequirePKCE: true})
			b.p.ExpectViolations()
			u, err := url.Parse(b.cfg.AuthCodeURL("s1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			require.NoError(t, err)
			q := u.Query()
			tt.edit(q)
			u.RawQuery = q.Encode()

			loc, err := b.p.Visit(t.Context(), u.String())
			if tt.page {
				require.ErrorContains(t, err, "400")
			} else {
				require.NoError(t, err)
				require.Equal(t, tt.error, loc.Query().Get("error"))
				require.Empty(t, loc.Query().Get("code"))
				require.Equal(t, q.Get("state"), loc.Query().Get("state"))
				require.Equal(t, b.p.Issuer(), loc.Query().Get("iss"))
			}
			require.Len(t, b.p.Violations(), 1)
		})
	}
}

func TestDenyNext(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{})
	b.p.DenyNext()
	loc, err := b.p.Visit(t.Context(), b.cfg.AuthCodeURL("s1"))
	require.NoError(t, err)
	require.Equal(t, "access_denied", loc.Query().Get("error"))
	require.NotEmpty(t, loc.Query().Get("error_description"))
	require.Equal(t, "s1", loc.Query().Get("state"))
	require.Equal(t, redirectURI, (&url.URL{Scheme: loc.Scheme, Host: loc.Host, Path: loc.Path}).String())

	loc, err = b.p.Visit(t.Context(), b.cfg.AuthCodeURL("s2"))
	require.NoError(t, err)
	require.NotEmpty(t, loc.Query().Get("code"), "only the next one is denied")
}

func TestExchangeChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []oauth2.AuthCodeOption
		cfg  func(*oauth2.Config)
	}{
		{name: "wrong verifier", opts: []oauth2.AuthCodeOption{oauth2.VerifierOption(oauth2.GenerateVerifier())}},
		{name: "no verifier"},
		{name: "other redirect_uri", cfg: func(c *oauth2.Config) { c.RedirectURL = "http://liaison.test/other" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, oauthfake.Options{RedirectURIs: []string{redirectURI, "http://liaison.test/other"}})
			code, _ := b.authorize(t)
			b.p.ExpectViolations()
			cfg := *b.cfg
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			_, err := cfg.Exchange(t.Context(), code, tt.opts...)
			require.Equal(t, "invalid_grant", retrieveError(t, err).ErrorCode)
			require.Len(t, b.p.Violations(), 1)
		})
	}
}

func TestResourceEcho(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{})
	tok := b.connect(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, b.p.ResourceURL("/contacts?x=1"), strings.NewReader(`{"a":1}`))
	require.NoError(t, err)
	req.Header.Set("Version", "2021-07-28")
	tok.SetAuthHeader(req)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var echo oauthfake.Echo
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&echo))
	require.Equal(t, oauthfake.Echo{
		Method: "POST", Path: "/api/contacts", Query: map[string][]string{"x": {"1"}},
		Headers: echo.Headers, Body: `{"a":1}`,
	}, echo)
	require.Equal(t, []string{"2021-07-28"}, echo.Headers["Version"])
	require.Equal(t, 1, b.p.Requests("/api/contacts"))
}

func TestTLS(t *testing.T) {
	t.Parallel()
	p := oauthfake.NewTLS(t, oauthfake.Options{ClientID: clientID, ClientSecret: clientSecret, ClientAuth: oauthfake.ClientSecretBasic})
	require.True(t, strings.HasPrefix(p.URL(), "https://"))
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: p.TokenURL(), AuthStyle: oauth2.AuthStyleInHeader}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, p.Client())
	tok, err := cc.Token(ctx)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, get(t, p, "me", tok.AccessToken).StatusCode)
}

// endsLike is a testing.TB that keeps what a provider registers for the end
// of the test and the errors it reports then, so a test can end it early and
// look.
type endsLike struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (e *endsLike) Helper()          {}
func (e *endsLike) Cleanup(f func()) { e.cleanups = append(e.cleanups, f) }
func (e *endsLike) Errorf(format string, args ...any) {
	e.errors = append(e.errors, fmt.Sprintf(format, args...))
}

// end runs the cleanups, last first, as the testing package does.
func (e *endsLike) end() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	e.cleanups = nil
}

func TestViolationsFailTheTestWhenItEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mistake bool
		expect  bool
		errors  int
	}{
		{name: "a mistake fails the test", mistake: true, errors: 1},
		{name: "no mistake, no failure"},
		{name: "a mistake the test expects", mistake: true, expect: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &endsLike{TB: t}
			t.Cleanup(e.end) // the server closes even if an assertion below fails
			p := oauthfake.New(e, oauthfake.Options{ClientID: clientID, ClientSecret: clientSecret, ClientAuth: oauthfake.ClientSecretPost})
			if tt.expect {
				p.ExpectViolations()
			}
			grant := "client_credentials"
			if tt.mistake {
				grant = "password"
			}
			status, body, _ := postForm(t, p.TokenURL(), url.Values{"grant_type": {grant}, "client_id": {clientID}, "client_secret": {clientSecret}}, nil)
			if tt.mistake {
				require.Equal(t, http.StatusBadRequest, status, body)
			} else {
				require.Equal(t, http.StatusOK, status, body)
			}

			e.end()
			if tt.mistake {
				require.Len(t, p.Violations(), 1)
			}
			require.Len(t, e.errors, tt.errors, "errors reported when the test ended")
			if tt.errors > 0 {
				require.Contains(t, e.errors[0], "unsupported grant_type")
			}
		})
	}
}
