package connections_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/oauthfake"
	"github.com/liaison/liaison/internal/retry"
)

func TestAuthorizationCodeFlow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := provider(t, oauthfake.Options{ClientAuth: oauthfake.ClientSecretPost, RequirePKCE: true, RotateRefreshTokens: true})
	in := codeInput(p)
	in.ClientAuth = new(connections.ClientSecretPost)
	in.AuthorizationParams = new(map[string]string{"access_type": "offline", "prompt": "consent"})
	in.Headers = new(map[string]string{"Version": "2021-07-28"})
	v, err := b.svc.Create(t.Context(), in)
	require.NoError(t, err)
	require.Equal(t, connections.StatusPending, v.Status)
	require.Equal(t, testRedirectURI, v.RedirectURI)
	require.Equal(t, "c******e", v.ClientSecret, "the secret is masked")
	require.True(t, *v.PKCE, "PKCE is on by default")

	_, err = b.get(t, v.ID, "/me")
	require.ErrorIs(t, err, connections.ErrNeedsReauth, "a pending connection cannot be used yet")

	authURL, err := b.svc.AuthorizeURL(t.Context(), v.ID)
	require.NoError(t, err)
	back, err := p.Visit(t.Context(), authURL)
	require.NoError(t, err)
	q := p.LastAuthorizeRequest()
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.Equal(t, "offline", q.Get("access_type"))
	require.Equal(t, "consent", q.Get("prompt"))
	require.Equal(t, "contacts.read offline_access", q.Get("scope"))
	require.Len(t, q.Get("state"), 43)

	out := b.svc.Complete(t.Context(), back.Query())
	require.True(t, out.OK, out.Message)
	require.Equal(t, v.ID, out.ConnectionID)
	require.Equal(t, oauthfake.ClientSecretPost, p.LastTokenRequest().ClientAuth)

	again := b.svc.Complete(t.Context(), back.Query())
	require.False(t, again.OK, "a state works once")
	require.Equal(t, "unknown_state", again.Problem)

	resp := b.requireOK(t, v.ID, "/echo?x=1")
	var echo oauthfake.Echo
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&echo))
	require.Equal(t, "/api/echo", echo.Path, "relative paths are appended to base_url")
	require.Equal(t, []string{"1"}, echo.Query["x"])
	require.Equal(t, []string{"2021-07-28"}, echo.Headers["Version"])
	require.Equal(t, []string{"liaison/test"}, echo.Headers["User-Agent"])

	got, err := b.svc.Get(t.Context(), v.ID)
	require.NoError(t, err)
	require.Equal(t, connections.StatusConnected, got.Status)
	require.NotNil(t, got.TokenExpiresAt)
}

func TestPublicClientWithoutSecret(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := provider(t, oauthfake.Options{ClientSecret: "-", RequirePKCE: true})
	in := codeInput(p)
	in.ClientSecret, in.ClientAuth = nil, nil
	v := b.createConnected(t, p, in)
	require.Equal(t, oauthfake.ClientAuthNone, p.LastTokenRequest().ClientAuth)
	b.requireOK(t, v.ID, "/me")
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := provider(t, oauthfake.Options{RequirePKCE: true, RotateRefreshTokens: true})
	for _, discovery := range []string{p.Issuer(), p.URL() + "/.well-known/oauth-authorization-server"} {
		v, err := b.svc.Create(t.Context(), connections.Input{
			Name: new("discovered"), AuthType: new(connections.AuthOAuth2Code), BaseURL: new(p.URL() + "/api"),
			ClientID: new(testClientID), ClientSecret: new(testClientSecret), DiscoveryURL: new(discovery),
			Scopes: new([]string{"contacts.read"}),
		})
		require.NoError(t, err, discovery)
		require.Equal(t, p.AuthorizeURL(), v.AuthorizationURL)
		require.Equal(t, p.TokenURL(), v.TokenURL)
		require.Equal(t, p.RevokeURL(), v.RevocationURL)
		require.Equal(t, connections.ClientSecretBasic, v.ClientAuth)
		require.True(t, b.connect(t, p, v.ID).OK)
	}

	_, err := b.svc.Create(t.Context(), connections.Input{
		Name: new("nowhere"), AuthType: new(connections.AuthOAuth2Code), BaseURL: new(p.URL()),
		ClientID: new(testClientID), DiscoveryURL: new(p.URL() + "/no-such-issuer"),
	})
	requireFields(t, err, "discovery_url")
}

func TestCallbackOutcomesInPlainWords(t *testing.T) {
	t.Parallel()
	// The state's expiry is shown on the service's clock, moved on past
	// StateTTL, not by sleeping: a slow machine must not expire the other
	// authorizations of this test.
	var ahead atomic.Int64
	b := setup(t, func(o *connections.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	p := provider(t, oauthfake.Options{RequirePKCE: true})
	v, err := b.svc.Create(t.Context(), codeInput(p))
	require.NoError(t, err)

	p.DenyNext()
	out := b.connect(t, p, v.ID)
	require.False(t, out.OK)
	require.Equal(t, "access_denied", out.Problem)
	require.Contains(t, out.Message, "denied")

	p.FailNextToken(1, 400, `{"error":"invalid_client","error_description":"bad secret"}`)
	out = b.connect(t, p, v.ID)
	require.Equal(t, "token_error", out.Problem)
	require.Contains(t, out.Message, "invalid_client: bad secret")
	require.NotContains(t, out.Message, testClientSecret)

	authURL, err := b.svc.AuthorizeURL(t.Context(), v.ID)
	require.NoError(t, err)
	back, err := p.Visit(t.Context(), authURL)
	require.NoError(t, err)
	ahead.Store(int64(11 * time.Minute)) // past the default StateTTL of 10 minutes
	out = b.svc.Complete(t.Context(), back.Query())
	require.Equal(t, "expired_state", out.Problem)
	require.Contains(t, out.Message, "expired")

	q := back.Query()
	q.Set("state", "forged")
	require.Equal(t, "unknown_state", b.svc.Complete(t.Context(), q).Problem)

	got, err := b.svc.Get(t.Context(), v.ID)
	require.NoError(t, err)
	require.Equal(t, connections.StatusPending, got.Status, "a failed connect changes nothing but last_error")
	require.NotEmpty(t, got.LastError)

	// The code that was never exchanged (expired state) is simply unused:
	// the provider saw no second use of anything.
	require.True(t, b.connect(t, p, v.ID).OK)
}

func TestRefreshBeforeUseRotatesInOneWrite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, v := b.connectedRotating(t)
	before := b.sealedTokens(t, v.ID)

	p.ExpireAll()
	b.expireInDB(t, v.ID)
	b.requireOK(t, v.ID, "/me")
	require.Equal(t, 1, p.TokenRequestsByGrant("refresh_token"))
	after := b.sealedTokens(t, v.ID)
	require.NotEqual(t, before[0], after[0], "new access token")
	require.NotEqual(t, before[1], after[1], "the rotated refresh token was stored with it")

	// A second expiry uses the rotated refresh token: a reuse of the old one
	// would revoke the grant (and fail the test through Violations).
	p.ExpireAll()
	b.expireInDB(t, v.ID)
	b.requireOK(t, v.ID, "/me")
	require.Equal(t, 2, p.TokenRequestsByGrant("refresh_token"))
	require.False(t, p.GrantRevoked())
}

func TestRefreshKeepsRefreshTokenWhenNoneComesBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := provider(t, oauthfake.Options{RequirePKCE: true}) // no rotation: no refresh_token in answers
	v := b.createConnected(t, p, codeInput(p))
	for range 3 {
		p.ExpireAll()
		b.expireInDB(t, v.ID)
		b.requireOK(t, v.ID, "/me")
	}
	require.Equal(t, 3, p.TokenRequestsByGrant("refresh_token"))
}

func TestUnauthorizedForcesOneRefreshAndResend(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, v := b.connectedRotating(t)

	p.ExpireAll() // the provider refuses the token; Liaison still thinks it is good
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "/contacts", bytes.NewReader([]byte(`{"email":"a@b.c"}`)))
	require.NoError(t, err)
	resp, err := b.svc.Do(t.Context(), v.ID, req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var echo oauthfake.Echo
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&echo))
	require.Equal(t, `{"email":"a@b.c"}`, echo.Body, "the body was sent again")
	require.Equal(t, 1, p.TokenRequestsByGrant("refresh_token"))
	require.Equal(t, 2, p.Requests("/api/contacts"))

	// A body that cannot be replayed: the 401 comes back, the token is
	// refreshed for the next attempt, nothing is sent twice.
	p.ExpireAll()
	req, err = http.NewRequestWithContext(t.Context(), http.MethodPost, "/once", io.NopCloser(strings.NewReader("x")))
	require.NoError(t, err)
	resp, err = b.svc.Do(t.Context(), v.ID, req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, 1, p.Requests("/api/once"))
	require.Equal(t, 2, p.TokenRequestsByGrant("refresh_token"))
	resp = b.requireOK(t, v.ID, "/me")
}

func TestRefreshOnceAcrossGoroutines(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, v := b.connectedRotating(t)
	p.SlowToken(200 * time.Millisecond) // the refresh is in flight while the others arrive
	p.ExpireAll()
	b.expireInDB(t, v.ID)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "/me", nil)
			resp, err := b.svc.Do(t.Context(), v.ID, req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = errors.New(resp.Status)
				}
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, p.TokenRequestsByGrant("refresh_token"))
}

func TestInvalidGrantNeedsReauthThenReconnect(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, v := b.connectedRotating(t)

	p.RevokeAll() // the user disconnected the app at the provider
	b.expireInDB(t, v.ID)
	_, err := b.get(t, v.ID, "/me")
	require.ErrorIs(t, err, connections.ErrNeedsReauth)
	var later *retry.Later
	require.ErrorAs(t, err, &later, "classifiable without importing connections")
	require.Zero(t, later.After, "the one who waits decides when to look again")

	got, err := b.svc.Get(t.Context(), v.ID)
	require.NoError(t, err)
	require.Equal(t, connections.StatusNeedsReauth, got.Status)
	require.Contains(t, got.LastError, "invalid_grant", "the provider's error is kept for display")
	events := b.events(t, connections.EventNeedsReauth)
	require.Len(t, events, 1)
	require.Contains(t, events[0], v.ID)

	// Work meanwhile waits: refused before sending, no token request.
	n := p.TokenRequests()
	_, err = b.get(t, v.ID, "/me")
	require.ErrorIs(t, err, connections.ErrNeedsReauth)
	require.Equal(t, n, p.TokenRequests())
	require.Len(t, b.events(t, connections.EventNeedsReauth), 1, "the event is recorded once")

	require.True(t, b.connect(t, p, v.ID).OK, "reconnecting works like connecting")
	b.requireOK(t, v.ID, "/me")
}

func TestTransientTokenFailuresAreRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *connections.Options) { o.TokenRetries = 2 })
	p, v := b.connectedRotating(t)

	// 503 and 429 say the provider did not take the request on: sending
	// the refresh token again is safe.
	p.FailNextToken(1, http.StatusServiceUnavailable, "")
	p.FailNextToken(1, http.StatusTooManyRequests, "")
	p.ExpireAll()
	b.expireInDB(t, v.ID)
	resp := b.requireOK(t, v.ID, "/me")
	require.Equal(t, 3, p.TokenRequestsByGrant("refresh_token"))

	// A 502 may come after the provider did the work (and rotated the
	// refresh token): its outcome is unknown, so it is not sent again at
	// once, and nothing changes state.
	p.FailNextToken(1, http.StatusBadGateway, "upstream down")
	p.ExpireAll()
	b.expireInDB(t, v.ID)
	_, err := b.get(t, v.ID, "/me")
	require.ErrorIs(t, err, connections.ErrTokenEndpoint)
	require.NotErrorIs(t, err, connections.ErrNeedsReauth)
	require.Equal(t, 4, p.TokenRequestsByGrant("refresh_token"), "an unknown outcome is not retried")
	got, err := b.svc.Get(t.Context(), v.ID)
	require.NoError(t, err)
	require.Equal(t, connections.StatusConnected, got.Status, "a transient failure changes no state")
	require.Contains(t, got.LastError, "502")
	require.Empty(t, b.events(t, connections.EventNeedsReauth))

	resp, err = b.get(t, v.ID, "/me")
	require.NoError(t, err, "the next call refreshes with the same refresh token")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 5, p.TokenRequestsByGrant("refresh_token"))
	got, err = b.svc.Get(t.Context(), v.ID)
	require.NoError(t, err)
	require.Empty(t, got.LastError, "a refresh that works clears the error")
}

func TestTokenEndpointTimeoutIsTransient(t *testing.T) {
	t.Parallel()
	// Long enough for a request to reach the provider on a loaded machine
	// under -race (at 150 ms the retry sometimes timed out on the way and
	// the provider saw one request), short enough to keep the test quick.
	b := setup(t, func(o *connections.Options) { o.TokenTimeout = 600 * time.Millisecond; o.TokenRetries = 1 })
	p := provider(t, oauthfake.Options{ClientAuth: oauthfake.ClientSecretPost, Scopes: []string{"api"}})
	v, err := b.svc.Create(t.Context(), clientCredentialsInput(p, connections.ClientSecretPost))
	require.NoError(t, err)
	p.SlowToken(3 * time.Second)
	_, err = b.get(t, v.ID, "/me")
	require.ErrorIs(t, err, connections.ErrTokenEndpoint)
	require.Equal(t, 2, p.TokenRequestsByGrant("client_credentials"), "one try and one retry")
	got, err := b.svc.Get(t.Context(), v.ID)
	require.NoError(t, err)
	require.Equal(t, connections.StatusPending, got.Status)
	p.SlowToken(0)
	b.requireOK(t, v.ID, "/me")
}

func TestClientCredentialsCachedUntilExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := provider(t, oauthfake.Options{ClientAuth: oauthfake.ClientSecretPost, Scopes: []string{"api"}, AccessTTL: time.Hour})
	v, err := b.svc.Create(t.Context(), connections.Input{
		Name: new("Creatio"), AuthType: new(connections.AuthOAuth2ClientCredentials), BaseURL: new(p.URL() + "/api"),
		ClientID: new(testClientID), ClientSecret: new(testClientSecret), DiscoveryURL: new(p.Issuer()),
		ClientAuth: new(connections.ClientSecretPost), Scopes: new([]string{"api"}),
	})
	require.NoError(t, err)
	for range 5 {
		b.requireOK(t, v.ID, "/me")
	}
	require.Equal(t, 1, p.TokenRequestsByGrant("client_credentials"), "fetched on demand, then cached")
	require.Equal(t, oauthfake.ClientSecretPost, p.LastTokenRequest().ClientAuth)

	p.ExpireAll() // the Creatio guide: "a new token when a call answers 401"
	b.requireOK(t, v.ID, "/me")
	require.Equal(t, 2, p.TokenRequestsByGrant("client_credentials"))

	view, err := b.svc.Refresh(t.Context(), v.ID)
	require.NoError(t, err)
	require.Equal(t, connections.StatusConnected, view.Status)
	require.Equal(t, 3, p.TokenRequestsByGrant("client_credentials"), "refresh on demand")
}

// target is a resource server for static-credential connections: it
// answers 401 unless the request carries want in the header or query named.
func target(t *testing.T, check func(r *http.Request) bool) (*httptest.Server, *[]*http.Request) {
	t.Helper()
	var mu sync.Mutex
	var seen []*http.Request
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		if !check(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "query": r.URL.Query(), "headers": r.Header})
	}))
	t.Cleanup(s.Close)
	return s, &seen
}

func TestStaticTokensAndAPIKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const token = "pit-9f8e7d6c5b4a39281706"
	s, _ := target(t, func(r *http.Request) bool {
		return r.Header.Get("Authorization") == "Bearer "+token || r.Header.Get("X-Api-Key") == token || r.URL.Query().Get("api_key") == token
	})

	bearer, err := b.svc.Create(t.Context(), connections.Input{
		Name: new("HighLevel"), AuthType: new(connections.AuthBearer), BaseURL: new(s.URL + "/v1"),
		Token: new(token), Headers: new(map[string]string{"Version": "2021-07-28"}),
	})
	require.NoError(t, err)
	require.Equal(t, connections.StatusConnected, bearer.Status)
	require.Equal(t, "p******6", bearer.Token)
	resp, err := b.get(t, bearer.ID, "contacts")
	require.NoError(t, err)
	var echo struct {
		Path    string
		Query   map[string][]string
		Headers http.Header
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&echo))
	require.Equal(t, "/v1/contacts", echo.Path)
	require.Equal(t, "2021-07-28", echo.Headers.Get("Version"))

	for _, in := range []string{connections.APIKeyInHeader, connections.APIKeyInQuery} {
		name := map[string]string{connections.APIKeyInHeader: "X-Api-Key", connections.APIKeyInQuery: "api_key"}[in]
		k, err := b.svc.Create(t.Context(), connections.Input{
			Name: new("key in " + in), AuthType: new(connections.AuthAPIKey), BaseURL: new(s.URL),
			APIKey: &connections.APIKeyInput{In: new(in), Name: new(name), Value: new(token)},
		})
		require.NoError(t, err)
		require.Equal(t, "p******6", k.APIKey.Value)
		resp, err := b.get(t, k.ID, "/x?keep=1")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, in)
		// The request handed back, which callers record, carries no key.
		require.Equal(t, "/x", resp.Request.URL.Path, in)
		require.Equal(t, "1", resp.Request.URL.Query().Get("keep"), in)
		require.NotContains(t, resp.Request.URL.String(), token, in)
		require.Empty(t, resp.Request.Header, in)
	}

	// A static token that the target refuses: needs_reauth, with its event.
	bad, err := b.svc.Create(t.Context(), connections.Input{
		Name: new("old token"), AuthType: new(connections.AuthBearer), BaseURL: new(s.URL), Token: new("revoked-token-123"),
	})
	require.NoError(t, err)
	_, err = b.get(t, bad.ID, "/x")
	require.ErrorIs(t, err, connections.ErrNeedsReauth)
	got, err := b.svc.Get(t.Context(), bad.ID)
	require.NoError(t, err)
	require.Equal(t, connections.StatusNeedsReauth, got.Status)
	require.Contains(t, got.LastError, "401")
	require.Len(t, b.events(t, connections.EventNeedsReauth), 1)

	// A new token reconnects it.
	got, err = b.svc.Update(t.Context(), bad.ID, connections.Input{Token: new(token)})
	require.NoError(t, err)
	require.Equal(t, connections.StatusConnected, got.Status)
	resp = b.requireOK(t, bad.ID, "/x")
}

func TestRequestsStayOnTheConnectionsHosts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const key = "key-0123456789abcdef"
	own, _ := target(t, func(*http.Request) bool { return true })
	other, otherSeen := target(t, func(*http.Request) bool { return true })
	c, err := b.svc.Create(t.Context(), connections.Input{
		Name: new("k"), AuthType: new(connections.AuthAPIKey), BaseURL: new(own.URL),
		APIKey: &connections.APIKeyInput{In: new("header"), Name: new("X-Api-Key"), Value: new(key)},
	})
	require.NoError(t, err)

	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	_, err = b.get(t, c.ID, otherURL+"/steal")
	require.ErrorIs(t, err, connections.ErrHostNotAllowed)
	require.ErrorIs(t, err, retry.ErrNever)
	require.Empty(t, *otherSeen, "refused before sending")

	_, err = b.svc.Update(t.Context(), c.ID, connections.Input{AllowedHosts: new([]string{"localhost"})})
	require.NoError(t, err)
	resp, err := b.get(t, c.ID, otherURL+"/ok")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, *otherSeen, 1)
	require.Equal(t, key, (*otherSeen)[0].Header.Get("X-Api-Key"))

	// A redirect from the connection's host to another host: followed for
	// GET, but the credential stays behind.
	redirector := httptest.NewServer(http.RedirectHandler(otherURL+"/landed", http.StatusFound))
	t.Cleanup(redirector.Close)
	_, err = b.svc.Update(t.Context(), c.ID, connections.Input{BaseURL: new(redirector.URL)})
	require.NoError(t, err)
	resp = b.requireOK(t, c.ID, "/go")
	require.Len(t, *otherSeen, 2)
	require.Empty(t, (*otherSeen)[1].Header.Get("X-Api-Key"), "no credential after a host change")
}

func TestEditingCredentialsAsksForReconnection(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, v := b.connectedRotating(t)

	got, err := b.svc.Update(t.Context(), v.ID, connections.Input{Name: new("CRM (prod)"), Description: new("the main CRM"), TestPath: new("/me")})
	require.NoError(t, err)
	require.Equal(t, connections.StatusConnected, got.Status, "names and descriptions do not touch the token")

	got, err = b.svc.Update(t.Context(), v.ID, connections.Input{Scopes: new([]string{"contacts.read", "contacts.write", "offline_access"})})
	require.NoError(t, err)
	require.Equal(t, connections.StatusNeedsReauth, got.Status, "a token for other scopes is not kept")
	require.Nil(t, got.TokenExpiresAt)
	require.Len(t, b.events(t, connections.EventNeedsReauth), 1)
	_, err = b.get(t, v.ID, "/me")
	require.ErrorIs(t, err, connections.ErrNeedsReauth)

	require.True(t, b.connect(t, p, v.ID).OK)
	got, err = b.svc.Update(t.Context(), v.ID, connections.Input{ClientSecret: new(testClientSecret + "-new")})
	require.NoError(t, err)
	require.Equal(t, connections.StatusNeedsReauth, got.Status)
}

func TestDeleteRevokesAtTheProvider(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, v := b.connectedRotating(t)
	res, err := b.svc.Delete(t.Context(), v.ID)
	require.NoError(t, err)
	require.True(t, res.Revoked)
	require.True(t, p.GrantRevoked())
	_, err = b.svc.Get(t.Context(), v.ID)
	require.ErrorIs(t, err, connections.ErrNotFound)

	// A revocation endpoint that fails is reported; the deletion goes on.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(down.Close)
	in := codeInput(p)
	in.RevocationURL = new(down.URL + "/revoke")
	v = b.createConnected(t, p, in)
	res, err = b.svc.Delete(t.Context(), v.ID)
	require.NoError(t, err)
	require.False(t, res.Revoked)
	require.Contains(t, res.RevokeError, "503")
	_, err = b.svc.Get(t.Context(), v.ID)
	require.ErrorIs(t, err, connections.ErrNotFound)
}

func TestSweepRefreshesTokensAboutToExpire(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := provider(t, oauthfake.Options{RequirePKCE: true, RotateRefreshTokens: true, AccessTTL: 5 * time.Minute})
	soon := b.createConnected(t, p, codeInput(p))
	require.NoError(t, b.svc.Sweep(t.Context()))
	require.Equal(t, 1, p.TokenRequestsByGrant("refresh_token"), "a token living 5 minutes is inside the 10 minute window")
	b.requireOK(t, soon.ID, "/me")
	require.Equal(t, 1, p.TokenRequestsByGrant("refresh_token"), "the call found a fresh token")

	q := provider(t, oauthfake.Options{RequirePKCE: true, RotateRefreshTokens: true, AccessTTL: time.Hour})
	b.createConnected(t, q, codeInput(q))
	require.NoError(t, b.svc.Sweep(t.Context()))
	require.Equal(t, 0, q.TokenRequestsByGrant("refresh_token"), "a token with an hour left is left alone")
}

func TestTestAndRefreshOnDemand(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, v := b.connectedRotating(t)
	res, err := b.svc.Test(t.Context(), v.ID)
	require.NoError(t, err)
	require.True(t, res.OK, res.Error)
	require.Equal(t, http.StatusOK, res.Status)

	_, err = b.svc.Refresh(t.Context(), v.ID)
	require.NoError(t, err)
	require.Equal(t, 1, p.TokenRequestsByGrant("refresh_token"))

	p.RevokeAll()
	_, err = b.svc.Refresh(t.Context(), v.ID)
	require.ErrorIs(t, err, connections.ErrNeedsReauth)
	res, err = b.svc.Test(t.Context(), v.ID)
	require.NoError(t, err)
	require.False(t, res.OK)
	require.Contains(t, res.Error, "reconnected")
}

func requireFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	ie, ok := invalid.As(err)
	require.True(t, ok, "got %v; want an invalid.Error", err)
	var got []string
	for _, f := range ie.Fields {
		got = append(got, f.Field)
	}
	for _, f := range fields {
		require.Contains(t, got, f, err.Error())
	}
}

func TestBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *connections.Options) { o.AllowedCIDRs = nil })
	base := func() connections.Input {
		return connections.Input{
			Name: new("x"), AuthType: new(connections.AuthOAuth2Code), BaseURL: new("https://api.example.com"),
			ClientID: new("id"), AuthorizationURL: new("https://id.example.com/authorize"), TokenURL: new("https://id.example.com/token"),
		}
	}
	tests := []struct {
		name  string
		edit  func(*connections.Input)
		field string
	}{
		{"missing client id", func(in *connections.Input) { in.ClientID = nil }, "client_id"},
		{"client credentials without client id", func(in *connections.Input) {
			in.AuthType = new(connections.AuthOAuth2ClientCredentials)
			in.ClientID = nil
		}, "client_id"},
		{"token url over http", func(in *connections.Input) { in.TokenURL = new("http://id.example.com/token") }, "token_url"},
		{"token url over http to a private address not in ALLOWED_CIDRS", func(in *connections.Input) { in.TokenURL = new("http://10.0.0.5/token") }, "token_url"},
		{"unknown auth type", func(in *connections.Input) { in.AuthType = new("oauth1") }, "auth_type"},
		{"scope with a space", func(in *connections.Input) { in.Scopes = new([]string{"read", "contacts write"}) }, "scopes[1]"},
		{"bad base url", func(in *connections.Input) { in.BaseURL = new("not a url") }, "base_url"},
		{"missing name", func(in *connections.Input) { in.Name = new("") }, "name"},
		{"long name", func(in *connections.Input) { in.Name = new(strings.Repeat("n", 201)) }, "name"},
		{"long description", func(in *connections.Input) { in.Description = new(strings.Repeat("d", 501)) }, "description"},
		{"unknown client auth", func(in *connections.Input) { in.ClientAuth = new("private_key_jwt") }, "client_auth"},
		{"reserved authorization param", func(in *connections.Input) { in.AuthorizationParams = new(map[string]string{"redirect_uri": "x"}) }, "authorization_params.redirect_uri"},
		{"authorization header as fixed header", func(in *connections.Input) { in.Headers = new(map[string]string{"Authorization": "Bearer x"}) }, "headers.Authorization"},
		{"api key in cookie", func(in *connections.Input) {
			in.AuthType = new(connections.AuthAPIKey)
			in.APIKey = &connections.APIKeyInput{In: new("cookie"), Name: new("k"), Value: new("v")}
		}, "api_key.in"},
		{"bearer without token", func(in *connections.Input) { in.AuthType = new(connections.AuthBearer) }, "token"},
		{"bad allowed host", func(in *connections.Input) { in.AllowedHosts = new([]string{"https://x.example.com/path"}) }, "allowed_hosts[0]"},
	}
	for _, tc := range tests {
		in := base()
		tc.edit(&in)
		_, err := b.svc.Create(t.Context(), in)
		requireFields(t, err, tc.field)
	}
	_, err := b.svc.Create(t.Context(), base())
	require.NoError(t, err, "the base input is fine")

	// The refusal of plain http names localhost only where loopback is open.
	overHTTP := base()
	overHTTP.TokenURL = new("http://id.example.com/token")
	for svc, want := range map[*connections.Service]string{
		b.svc:        "must use https; plain http is allowed only for an IP address inside ALLOWED_CIDRS",
		setup(t).svc: "must use https; plain http is allowed only for localhost or an IP address inside ALLOWED_CIDRS",
	} {
		_, err = svc.Create(t.Context(), overHTTP)
		e, ok := invalid.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, want, e.Fields[0].Message)
	}
}

func TestNoSecretInPlaintextInTheDatabase(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, v := b.connectedRotating(t)
	const bearer, apiKey = "static-bearer-token-value-1", "api-key-value-abcdef-2"
	_, err := b.svc.Create(t.Context(), connections.Input{Name: new("b"), AuthType: new(connections.AuthBearer), BaseURL: new("https://api.example.com"), Token: new(bearer)})
	require.NoError(t, err)
	_, err = b.svc.Create(t.Context(), connections.Input{
		Name: new("k"), AuthType: new(connections.AuthAPIKey), BaseURL: new("https://api.example.com"),
		APIKey: &connections.APIKeyInput{In: new("query"), Name: new("key"), Value: new(apiKey)},
	})
	require.NoError(t, err)
	_, err = b.svc.AuthorizeURL(t.Context(), v.ID) // a state with its PKCE verifier in flight
	require.NoError(t, err)
	at, rt := b.openTokens(t, v.ID)
	require.NotEmpty(t, at)
	require.NotEmpty(t, rt)

	dump := b.db.Dump(t, "connections", "oauth_states", "system_events")
	for _, s := range []string{testClientSecret, bearer, apiKey, at, rt} {
		require.NotContains(t, dump, s)
	}
	require.Contains(t, dump, testClientID, "the dump does read the rows")
}
