package connections_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/oauthfake"
	"github.com/liaison/liaison/internal/redistest"
	"github.com/liaison/liaison/internal/secret"
)

const (
	testRedirectURI = "http://liaison.test/oauth/callback"
	testClientID    = "liaison-client"
	// Characters that form-encoding changes (RFC 6749 §2.3.1), so a client
	// that skips the encoding fails against the strict provider.
	testClientSecret = "cl1ent+s3cr/t=%:value"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runRefreshChild())
	}
	os.Exit(m.Run())
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testBundle struct {
	svc      *connections.Service
	db       dbtest.Database
	redisURL string
	redis    redis.UniversalClient
	keys     [][]byte
	opts     connections.Options
}

// setup builds a service on a database and Redis of the test's own, with
// loopback allowed (the fake provider listens there) unless a modifier
// changes the options.
func setup(t *testing.T, mods ...func(*connections.Options)) *testBundle {
	t.Helper()
	d := dbtest.New(t)
	ru := redistest.New(t)
	ropt, err := redis.ParseURL(ru)
	require.NoError(t, err)
	rc := redis.NewClient(ropt)
	t.Cleanup(func() { rc.Close() })
	key, err := secret.NewKey()
	require.NoError(t, err)
	ring, err := secret.NewRing([][]byte{key})
	require.NoError(t, err)
	opts := connections.Options{
		DB: d.DB, Redis: rc, Ring: ring,
		AllowedCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		RedirectURI:  testRedirectURI,
		Log:          testLogger(t),
		Events:       &connections.StoreEvents{DB: d.DB},
		Version:      "test",
		TokenBackoff: 10 * time.Millisecond,
	}
	for _, m := range mods {
		m(&opts)
	}
	svc, err := connections.New(opts)
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	return &testBundle{svc: svc, db: d, redisURL: ru, redis: rc, keys: [][]byte{key}, opts: opts}
}

// provider starts the strict fake with the test client; zero fields get
// defaults: client_secret_basic, PKCE required, rotating refresh tokens.
func provider(t *testing.T, opts oauthfake.Options) *oauthfake.Provider {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID = testClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = testClientSecret
	}
	if opts.ClientSecret == "-" {
		opts.ClientSecret = ""
	}
	if opts.ClientAuth == "" && opts.ClientSecret != "" {
		opts.ClientAuth = oauthfake.ClientSecretBasic
	}
	if opts.RedirectURIs == nil {
		opts.RedirectURIs = []string{testRedirectURI}
	}
	if opts.Scopes == nil {
		opts.Scopes = []string{"contacts.read", "contacts.write", "offline_access"}
	}
	return oauthfake.New(t, opts)
}

// codeInput describes an authorization-code connection to p.
func codeInput(p *oauthfake.Provider) connections.Input {
	return connections.Input{
		Name:             new("CRM"),
		AuthType:         new(connections.AuthOAuth2Code),
		BaseURL:          new(p.URL() + "/api"),
		ClientID:         new(testClientID),
		ClientSecret:     new(testClientSecret),
		AuthorizationURL: new(p.AuthorizeURL()),
		TokenURL:         new(p.TokenURL()),
		RevocationURL:    new(p.RevokeURL()),
		Scopes:           new([]string{"contacts.read", "offline_access"}),
		ClientAuth:       new(connections.ClientSecretBasic),
		TestPath:         new("/me"),
	}
}

// clientCredentialsInput describes a client-credentials connection to p
// (scope api) that authenticates to its token endpoint with clientAuth.
func clientCredentialsInput(p *oauthfake.Provider, clientAuth string) connections.Input {
	return connections.Input{
		Name: new("Creatio"), AuthType: new(connections.AuthOAuth2ClientCredentials), BaseURL: new(p.URL() + "/api"),
		ClientID: new(testClientID), ClientSecret: new(testClientSecret), TokenURL: new(p.TokenURL()),
		ClientAuth: new(clientAuth), Scopes: new([]string{"api"}),
	}
}

// connect runs the whole authorization-code flow: authorize, the browser
// at the provider, the callback.
func (b *testBundle) connect(t *testing.T, p *oauthfake.Provider, id string) connections.Outcome {
	t.Helper()
	ctx := t.Context()
	u, err := b.svc.AuthorizeURL(ctx, id)
	require.NoError(t, err)
	back, err := p.Visit(ctx, u)
	require.NoError(t, err)
	require.Equal(t, testRedirectURI, back.Scheme+"://"+back.Host+back.Path)
	return b.svc.Complete(ctx, back.Query())
}

// createConnected creates an authorization-code connection and connects it.
func (b *testBundle) createConnected(t *testing.T, p *oauthfake.Provider, in connections.Input) connections.View {
	t.Helper()
	v, err := b.svc.Create(t.Context(), in)
	require.NoError(t, err)
	out := b.connect(t, p, v.ID)
	require.True(t, out.OK, out.Message)
	v, err = b.svc.Get(t.Context(), v.ID)
	require.NoError(t, err)
	require.Equal(t, connections.StatusConnected, v.Status)
	return v
}

// connectedRotating is a connection made the usual way (authorization
// code) and connected, at a provider that requires PKCE and rotates
// refresh tokens.
func (b *testBundle) connectedRotating(t *testing.T) (*oauthfake.Provider, connections.View) {
	t.Helper()
	p := provider(t, oauthfake.Options{RequirePKCE: true, RotateRefreshTokens: true})
	return p, b.createConnected(t, p, codeInput(p))
}

// expireInDB makes Liaison believe the stored token has expired.
func (b *testBundle) expireInDB(t *testing.T, id string) {
	t.Helper()
	past := time.Now().UTC().Add(-time.Minute)
	_, err := b.db.ExecContext(context.Background(), `UPDATE connections SET token_expires_at = $1, token_obtained_at = $2 WHERE id = $3`, past, past.Add(-time.Hour), id)
	require.NoError(t, err)
}

// get sends GET path through the connection.
func (b *testBundle) get(t *testing.T, id, path string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
	require.NoError(t, err)
	resp, err := b.svc.Do(t.Context(), id, req)
	if resp != nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

// requireOK sends GET path through the connection and requires a 200.
func (b *testBundle) requireOK(t *testing.T, id, path string) *http.Response {
	t.Helper()
	resp, err := b.get(t, id, path)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return resp
}

func (b *testBundle) events(t *testing.T, eventType string) []string {
	t.Helper()
	return b.db.Strings(t, `SELECT data FROM system_events WHERE type = $1 ORDER BY occurred_at`, eventType)
}

func keysEnv(keys [][]byte) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = base64.StdEncoding.EncodeToString(k)
	}
	return strings.Join(parts, ",")
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}
