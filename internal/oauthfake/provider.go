package oauthfake

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Client authentication methods (the names of RFC 8414
// token_endpoint_auth_methods_supported).
const (
	// ClientSecretBasic sends the client id and secret, each form-urlencoded,
	// in an Authorization: Basic header (RFC 6749 §2.3.1).
	ClientSecretBasic = "client_secret_basic"
	// ClientSecretPost sends client_id and client_secret in the form body.
	ClientSecretPost = "client_secret_post"
	// ClientAuthNone is a public client (empty ClientSecret): client_id in
	// the form body and nothing else.
	ClientAuthNone = "none"
)

// CodeTTL is how long an authorization code can be exchanged.
const CodeTTL = 60 * time.Second

// maxBody caps what the fake reads from a request body; nothing a client
// legitimately sends comes near it.
const maxBody = 1 << 20

// Options describe the one client the provider knows and how strict it is.
type Options struct {
	// ClientID is required.
	ClientID string
	// ClientSecret empty makes a public client: it sends only client_id in
	// the body, and may not use client_credentials.
	ClientSecret string
	// ClientAuth is ClientSecretBasic or ClientSecretPost, required with a
	// ClientSecret. It is the only method accepted: the other one is answered
	// invalid_client, and an authorization code sent with it is burnt, as
	// real providers do, so a client that guesses loses the code.
	ClientAuth string
	// RedirectURIs are compared exactly, at /authorize and at the exchange.
	RedirectURIs []string
	// RequirePKCE refuses an authorization request without a code_challenge.
	// Only S256 is ever accepted; a challenge sent without RequirePKCE is
	// still verified at the exchange.
	RequirePKCE bool
	// AccessTTL is the lifetime of access tokens; default 1h.
	AccessTTL time.Duration
	// RotateRefreshTokens answers every refresh with a new refresh token and
	// retires the old one. Using a retired refresh token revokes the whole
	// grant (every access and refresh token of it) and answers invalid_grant.
	// Without rotation, refresh answers carry no refresh_token and the old
	// one stays valid.
	RotateRefreshTokens bool
	// Scopes the client may ask for; any other is invalid_scope.
	Scopes []string
	// Subject is the user who approves at /authorize; default "user-1".
	Subject string
	// ConsentPage shows the user an HTML page at /authorize ("App X wants
	// access to: scopes") with Allow and Deny buttons, for browser tests;
	// without it the user approves at once. The request is checked the
	// same either way, before the page is shown.
	ConsentPage bool
	// AppName is the app the consent page names; default "Liaison".
	AppName string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// TokenRequest is what one request to the token endpoint carried.
type TokenRequest struct {
	// Form holds the body parameters (nil when the body was not a form).
	Form url.Values
	// Header holds the request headers, Authorization included.
	Header http.Header
	// ClientAuth is how the client authenticated: ClientSecretBasic,
	// ClientSecretPost, ClientAuthNone, "multiple" or "" (not at all).
	ClientAuth string
}

// Grant is one authorization: what a user approved (or what a
// client_credentials request got), with every token issued under it.
type Grant struct {
	ID        string
	GrantType string // authorization_code or client_credentials
	Subject   string
	ClientID  string
	Scopes    []string
	Revoked   bool
	// RevokedBecause says why, e.g. "refresh token reused after rotation".
	RevokedBecause string
}

// Provider is a running fake provider. All methods are safe for concurrent use.
type Provider struct {
	opts   Options
	srv    *httptest.Server
	closed chan struct{}

	mu            sync.Mutex
	codes         map[string]*authCode
	access        map[string]*accessToken
	refresh       map[string]*refreshToken
	grants        []*grant
	denyNext      bool
	failures      []failure
	slow          time.Duration
	requests      map[string]int
	tokenTotal    int
	tokenByGrant  map[string]int
	lastToken     TokenRequest
	lastAuthorize url.Values
	violations    []string
	expected      bool // ExpectViolations: the test checks violations itself
	served        map[string]http.Handler
	consents      map[string]*consent
}

type grant struct {
	Grant
}

type authCode struct {
	redirectURI string
	challenge   string
	scopes      []string
	expires     time.Time
	used        bool
	grant       *grant // set once exchanged, so a reuse can revoke it
}

type accessToken struct {
	grant   *grant
	scopes  []string
	expires time.Time
	revoked bool
}

type refreshToken struct {
	grant   *grant
	rotated bool
}

type failure struct {
	status int
	body   string
}

// New starts a provider on a plain HTTP httptest server on 127.0.0.1. When
// the test ends the server closes and every violation recorded fails the
// test, unless ExpectViolations was called.
func New(t testing.TB, opts Options) *Provider {
	t.Helper()
	return start(t, opts, false)
}

// NewTLS is New on an HTTPS server with httptest's self-signed certificate;
// Client returns an http.Client that trusts it.
func NewTLS(t testing.TB, opts Options) *Provider {
	t.Helper()
	return start(t, opts, true)
}

func start(t testing.TB, opts Options, tls bool) *Provider {
	t.Helper()
	if opts.ClientID == "" {
		t.Fatalf("oauthfake: Options.ClientID is required")
	}
	if opts.ClientSecret != "" && opts.ClientAuth != ClientSecretBasic && opts.ClientAuth != ClientSecretPost {
		t.Fatalf("oauthfake: Options.ClientAuth is %q; want %q or %q", opts.ClientAuth, ClientSecretBasic, ClientSecretPost)
	}
	if opts.AccessTTL <= 0 {
		opts.AccessTTL = time.Hour
	}
	if opts.Subject == "" {
		opts.Subject = "user-1"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AppName == "" {
		opts.AppName = "Liaison"
	}
	opts.RedirectURIs = slices.Clone(opts.RedirectURIs)
	opts.Scopes = slices.Clone(opts.Scopes)

	p := &Provider{
		opts:         opts,
		closed:       make(chan struct{}),
		codes:        map[string]*authCode{},
		access:       map[string]*accessToken{},
		refresh:      map[string]*refreshToken{},
		requests:     map[string]int{},
		tokenByGrant: map[string]int{},
		consents:     map[string]*consent{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", p.discovery)
	mux.HandleFunc("/authorize", p.authorize)
	mux.HandleFunc("POST /consent", p.consent)
	mux.HandleFunc("/token", p.token)
	mux.HandleFunc("/revoke", p.revoke)
	mux.HandleFunc("/api/", p.resource)

	// Unstarted, so p.srv is set before any request can arrive.
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests[r.URL.Path]++
		p.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	if tls {
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	t.Cleanup(func() {
		// Release SlowToken waits first: Close waits for every running handler.
		close(p.closed)
		p.srv.Close()
		// Checked after Close, so a mistake made by a request still under
		// way when the test returned counts too.
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.expected && len(p.violations) > 0 {
			t.Errorf("oauthfake: the provider saw protocol mistakes:\n\t%s", strings.Join(p.violations, "\n\t"))
		}
	})
	return p
}

// URL is the base URL of the provider, e.g. http://127.0.0.1:41234.
func (p *Provider) URL() string { return p.srv.URL }

// Issuer is the issuer identifier; it is URL.
func (p *Provider) Issuer() string { return p.srv.URL }

// AuthorizeURL is the authorization endpoint.
func (p *Provider) AuthorizeURL() string { return p.srv.URL + "/authorize" }

// TokenURL is the token endpoint.
func (p *Provider) TokenURL() string { return p.srv.URL + "/token" }

// RevokeURL is the RFC 7009 revocation endpoint.
func (p *Provider) RevokeURL() string { return p.srv.URL + "/revoke" }

// DiscoveryURL is the OpenID discovery document.
func (p *Provider) DiscoveryURL() string { return p.srv.URL + "/.well-known/openid-configuration" }

// ResourceURL is a protected resource under /api/; path is relative to it
// ("me", "/contacts?x=1").
func (p *Provider) ResourceURL(path string) string {
	return p.srv.URL + "/api/" + strings.TrimPrefix(path, "/")
}

// Client is an http.Client for this server (it trusts the NewTLS certificate).
func (p *Provider) Client() *http.Client { return p.srv.Client() }

// Visit plays the user's browser: it opens authorizeURL without following
// the redirect and returns where the provider sends the browser back: the
// redirect URI with code and state, or with error after DenyNext. An
// authorization request the provider refuses to redirect (unknown client,
// wrong redirect_uri) is an error carrying the page.
func (p *Provider) Visit(ctx context.Context, authorizeURL string) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authorizeURL, nil)
	if err != nil {
		return nil, fmt.Errorf("oauthfake: building authorize request: %w", err)
	}
	c := *p.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oauthfake: visiting authorize URL: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("oauthfake: authorize answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	loc, err := resp.Location()
	if err != nil {
		return nil, fmt.Errorf("oauthfake: reading authorize redirect: %w", err)
	}
	return loc, nil
}

// DenyNext makes the next authorization request end with the user saying no:
// the browser goes back with error=access_denied.
func (p *Provider) DenyNext() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.denyNext = true
}

// FailNextToken makes the next n token requests answer status with body
// instead of being processed (no state changes: a code or refresh token sent
// in them stays as it was). A body starting with "{" is sent as JSON, e.g.
// FailNextToken(1, 400, `{"error":"invalid_grant"}`) or FailNextToken(2, 503, "").
func (p *Provider) FailNextToken(n int, status int, body string) {
	if status < 100 || status > 599 {
		// net/http would panic inside the handler, far from the mistake.
		panic(fmt.Sprintf("oauthfake: FailNextToken with status %d", status))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.failures = append(p.failures, failure{status: status, body: body})
	}
}

// SlowToken delays every token answer by d (0 turns it off). The request is
// processed before the wait, as on a real provider that finishes its work
// whether or not the client is still listening: a client that gives up and
// retries with a refresh token that was rotated meanwhile commits a reuse.
func (p *Provider) SlowToken(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slow = d
}

// ExpireAll makes every access token issued so far expired now (by the
// provider's clock). Refresh tokens are unaffected.
func (p *Provider) ExpireAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.opts.Now()
	for _, at := range p.access {
		if at.expires.After(now) {
			at.expires = now
		}
	}
}

// RevokeAll revokes every grant, as a user who disconnects the app in the
// provider's settings: refreshes answer invalid_grant and the resource
// answers 401. New authorizations and client_credentials still work.
func (p *Provider) RevokeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range p.grants {
		p.revokeGrantLocked(g, "RevokeAll")
	}
}

// TokenRequests counts every request that reached the token endpoint,
// failed ones included.
func (p *Provider) TokenRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokenTotal
}

// TokenRequestsByGrant counts token requests by their grant_type parameter
// ("authorization_code", "refresh_token", "client_credentials"; "" for none).
func (p *Provider) TokenRequestsByGrant(grantType string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokenByGrant[grantType]
}

// Requests counts requests whose URL path is exactly path ("/token",
// "/api/me"), whatever their outcome.
func (p *Provider) Requests(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[path]
}

// LastTokenRequest is the most recent token request (zero before the first).
func (p *Provider) LastTokenRequest() TokenRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return TokenRequest{
		Form:       cloneValues(p.lastToken.Form),
		Header:     p.lastToken.Header.Clone(),
		ClientAuth: p.lastToken.ClientAuth,
	}
}

// LastAuthorizeRequest is the query of the most recent /authorize request,
// for asserting extra authorization parameters, scopes and PKCE.
func (p *Provider) LastAuthorizeRequest() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneValues(p.lastAuthorize)
}

// Violations lists every protocol mistake clients made, in order, each
// prefixed by the endpoint ("token: refresh token reused after rotation;
// grant g1 revoked").
func (p *Provider) Violations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.violations)
}

// ExpectViolations is for a test that provokes protocol mistakes on
// purpose and checks Violations itself: the provider then no longer fails
// the test over them when it ends.
func (p *Provider) ExpectViolations() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expected = true
}

// GrantRevoked reports whether any grant has been revoked, for whatever
// reason (reuse, revocation, RevokeAll); Grants says which and why.
func (p *Provider) GrantRevoked() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range p.grants {
		if g.Revoked {
			return true
		}
	}
	return false
}

// Grants lists every grant in the order they were made.
func (p *Provider) Grants() []Grant {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Grant, len(p.grants))
	for i, g := range p.grants {
		out[i] = g.Grant
		out[i].Scopes = slices.Clone(g.Scopes)
	}
	return out
}

// IssuedTokens lists every access and refresh token the provider has
// issued, live or not, so that a test can look for them where no secret
// may be (pages, logs, the database in plaintext).
func (p *Provider) IssuedTokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := slices.Collect(maps.Keys(p.access))
	return slices.AppendSeq(out, maps.Keys(p.refresh))
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	method := p.opts.ClientAuth
	if p.opts.ClientSecret == "" {
		method = ClientAuthNone
	}
	grants := []string{"authorization_code", "refresh_token"}
	if p.opts.ClientSecret != "" {
		grants = append(grants, "client_credentials")
	}
	scopes := p.opts.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         p.Issuer(),
		"authorization_endpoint":                         p.AuthorizeURL(),
		"token_endpoint":                                 p.TokenURL(),
		"revocation_endpoint":                            p.RevokeURL(),
		"token_endpoint_auth_methods_supported":          []string{method},
		"revocation_endpoint_auth_methods_supported":     []string{method},
		"code_challenge_methods_supported":               []string{"S256"},
		"grant_types_supported":                          grants,
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"scopes_supported":                               scopes,
		"subject_types_supported":                        []string{"public"},
		"authorization_response_iss_parameter_supported": true,
	})
}

// violateLocked records a client mistake; p.mu must be held.
func (p *Provider) violateLocked(format string, args ...any) {
	p.violations = append(p.violations, fmt.Sprintf(format, args...))
}

func (p *Provider) newGrantLocked(grantType, subject string, scopes []string) *grant {
	g := &grant{Grant{
		ID:        fmt.Sprintf("g%d", len(p.grants)+1),
		GrantType: grantType,
		Subject:   subject,
		ClientID:  p.opts.ClientID,
		Scopes:    scopes,
	}}
	p.grants = append(p.grants, g)
	return g
}

func (p *Provider) revokeGrantLocked(g *grant, because string) {
	if g.Revoked {
		return
	}
	g.Revoked = true
	g.RevokedBecause = because
}

// liveLocked reports why an access token cannot be used, or "" if it can.
func (p *Provider) liveLocked(at *accessToken) string {
	switch {
	case at == nil:
		return "unknown access token"
	case at.revoked || at.grant.Revoked:
		return "the access token was revoked"
	case !p.opts.Now().Before(at.expires):
		return "the access token expired"
	}
	return ""
}

// newSecret makes an opaque token; the prefix only helps a human reading a
// failing test tell an access token from a refresh token.
func newSecret(prefix string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vv := range v {
		out[k] = slices.Clone(vv)
	}
	return out
}

// parseScopes splits a space-delimited scope parameter (RFC 6749 §3.3),
// dropping duplicates.
func parseScopes(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// unknownScopes returns the requested scopes that are not in allowed.
func unknownScopes(requested, allowed []string) []string {
	var out []string
	for _, s := range requested {
		if !slices.Contains(allowed, s) {
			out = append(out, s)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// repeated returns a parameter sent more than once; RFC 6749 §3.1 and §3.2
// forbid that, and a lenient server that takes the first would hide a bug.
func repeated(v url.Values) string {
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if len(v[k]) > 1 {
			return k
		}
	}
	return ""
}

// refuseLocked records a protocol violation (format, args) and answers 400
// with the OAuth error code and its description.
func (p *Provider) refuseLocked(code, description, format string, args ...any) answer {
	p.violateLocked(format, args...)
	return oauthError(http.StatusBadRequest, code, description)
}
