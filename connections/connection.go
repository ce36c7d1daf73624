package connections

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/secret"
)

// Auth types.
const (
	AuthOAuth2Code              = "oauth2_authorization_code"
	AuthOAuth2ClientCredentials = "oauth2_client_credentials"
	AuthBearer                  = "bearer"
	AuthAPIKey                  = "api_key"
)

// AuthTypes are the auth types, in the order people are shown them.
func AuthTypes() []string {
	return []string{AuthOAuth2Code, AuthOAuth2ClientCredentials, AuthBearer, AuthAPIKey}
}

// Connection states (docs/DESIGN.md, "Token lifecycle").
const (
	// StatusPending: never authorized (or, for client credentials, no token
	// fetched yet).
	StatusPending = "pending"
	// StatusConnected: credentials work as far as Liaison knows.
	StatusConnected = "connected"
	// StatusNeedsReauth: the provider refused the grant or the static
	// credential; a person must reconnect. Work that needs the connection
	// waits (see ReauthError).
	StatusNeedsReauth = "needs_reauth"
)

// Client authentication methods for the token endpoint. There is no
// "detect": trying one and then the other burns single-use codes.
const (
	ClientSecretBasic = "client_secret_basic"
	ClientSecretPost  = "client_secret_post"
)

// Where an API key goes.
const (
	APIKeyInHeader = "header"
	APIKeyInQuery  = "query"
)

// Limits of the plain fields (the reference UIs use the same).
const (
	maxName        = 200
	maxDescription = 500
	maxRateLimit   = 10_000
	maxConcurrency = 10_000
)

// Connection is a stored connection with its secrets opened. It never leaves
// the package as is: View is what answers show.
type Connection struct {
	ID                  string
	Name                string
	Description         string
	AuthType            string
	Status              string
	BaseURL             string
	AllowedHosts        []string
	Headers             map[string]string
	ClientID            string
	ClientSecret        string
	AuthorizationURL    string
	TokenURL            string
	RevocationURL       string
	DiscoveryURL        string
	Issuer              string
	Scopes              []string
	ClientAuth          string
	PKCE                bool
	AuthorizationParams map[string]string
	StaticToken         string
	APIKeyIn            string
	APIKeyName          string
	APIKeyValue         string
	TestPath            string
	LastError           string
	// RateLimit (requests per second) and MaxConcurrency bound the calls
	// through the connection, across every worker; 0 is unlimited.
	RateLimit      float64
	MaxConcurrency int

	AccessToken     string
	RefreshToken    string
	TokenObtainedAt time.Time // zero when there is no token
	TokenExpiresAt  time.Time // zero when the token does not say
	TokenVersion    int64

	// PausedAt is when a person paused the connection; zero when it runs.
	PausedAt time.Time
	// LastUsedAt is when a request last went through it (to the minute).
	LastUsedAt time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
}

// IsOAuth reports whether a connection of this auth type gets its tokens
// from a token endpoint.
func IsOAuth(authType string) bool {
	return authType == AuthOAuth2Code || authType == AuthOAuth2ClientCredentials
}

func (c *Connection) isOAuth() bool { return IsOAuth(c.AuthType) }

// Input is what a person sends to create or edit a connection. Every field
// is a pointer so that an edit (PATCH) changes only what it names; a create
// takes the defaults for what it leaves out.
type Input struct {
	Name                *string            `json:"name,omitempty"`
	Description         *string            `json:"description,omitempty"`
	AuthType            *string            `json:"auth_type,omitempty"`
	BaseURL             *string            `json:"base_url,omitempty"`
	AllowedHosts        *[]string          `json:"allowed_hosts,omitempty"`
	Headers             *map[string]string `json:"headers,omitempty" openapi:"sealed-headers"`
	ClientID            *string            `json:"client_id,omitempty"`
	ClientSecret        *string            `json:"client_secret,omitempty"`
	AuthorizationURL    *string            `json:"authorization_url,omitempty"`
	TokenURL            *string            `json:"token_url,omitempty"`
	RevocationURL       *string            `json:"revocation_url,omitempty"`
	DiscoveryURL        *string            `json:"discovery_url,omitempty"`
	Scopes              *[]string          `json:"scopes,omitempty"`
	ClientAuth          *string            `json:"client_auth,omitempty"`
	PKCE                *bool              `json:"pkce,omitempty"`
	AuthorizationParams *map[string]string `json:"authorization_params,omitempty"`
	Token               *string            `json:"token,omitempty"`
	APIKey              *APIKeyInput       `json:"api_key,omitempty"`
	TestPath            *string            `json:"test_path,omitempty"`
	RateLimit           *float64           `json:"rate_limit,omitempty"`
	MaxConcurrency      *int               `json:"max_concurrency,omitempty"`
}

// APIKeyInput is an API key: a header or query parameter named Name
// carrying Value.
type APIKeyInput struct {
	In    *string `json:"in,omitempty"`
	Name  *string `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

// View is a connection as answers show it: secrets masked, the redirect
// URI to copy into the other service's app settings.
type View struct {
	ID                  string            `json:"id"`
	Name                string            `json:"name"`
	Description         string            `json:"description"`
	AuthType            string            `json:"auth_type"`
	Status              string            `json:"status"`
	BaseURL             string            `json:"base_url"`
	AllowedHosts        []string          `json:"allowed_hosts"`
	Headers             map[string]string `json:"headers" openapi:"sealed-headers"`
	ClientID            string            `json:"client_id,omitempty"`
	ClientSecret        string            `json:"client_secret,omitempty"`
	AuthorizationURL    string            `json:"authorization_url,omitempty"`
	TokenURL            string            `json:"token_url,omitempty"`
	RevocationURL       string            `json:"revocation_url,omitempty"`
	DiscoveryURL        string            `json:"discovery_url,omitempty"`
	Scopes              []string          `json:"scopes,omitempty"`
	ClientAuth          string            `json:"client_auth,omitempty"`
	PKCE                *bool             `json:"pkce,omitempty"`
	AuthorizationParams map[string]string `json:"authorization_params,omitempty"`
	Token               string            `json:"token,omitempty"`
	APIKey              *APIKeyView       `json:"api_key,omitempty"`
	TestPath            string            `json:"test_path"`
	RateLimit           float64           `json:"rate_limit"`
	MaxConcurrency      int               `json:"max_concurrency"`
	RedirectURI         string            `json:"redirect_uri,omitempty"`
	LastError           string            `json:"last_error"`
	TokenExpiresAt      *time.Time        `json:"token_expires_at,omitempty"`
	// Paused: nothing is sent through the connection until it is resumed
	// (Pause); PausedAt says since when.
	Paused   bool       `json:"paused"`
	PausedAt *time.Time `json:"paused_at,omitempty"`
	// LastRefreshedAt is when the current OAuth token was obtained (its
	// last refresh, or the authorization); NextRefreshAt when the sweep
	// will refresh it (its expiry minus Options.SweepWindow), nil when it
	// does not expire, cannot be refreshed or the connection is paused.
	LastRefreshedAt *time.Time `json:"last_refreshed_at,omitempty"`
	NextRefreshAt   *time.Time `json:"next_refresh_at,omitempty"`
	// LastUsedAt is when a request last went through the connection,
	// to the minute.
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// APIKeyView is an API key with its value masked.
type APIKeyView struct {
	In    string `json:"in"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// view builds the answer for c.
func (s *Service) view(c *Connection) View {
	v := View{
		ID: c.ID, Name: c.Name, Description: c.Description, AuthType: c.AuthType, Status: c.Status,
		BaseURL: c.BaseURL, AllowedHosts: nonNil(c.AllowedHosts), Headers: secret.MaskHeaders(c.Headers),
		TestPath: c.TestPath, LastError: c.LastError, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		RateLimit: c.RateLimit, MaxConcurrency: c.MaxConcurrency,
		Paused: !c.PausedAt.IsZero(), PausedAt: timeOrNil(c.PausedAt), LastUsedAt: timeOrNil(c.LastUsedAt),
	}
	switch c.AuthType {
	case AuthOAuth2Code, AuthOAuth2ClientCredentials:
		v.ClientID, v.ClientSecret = c.ClientID, maskSecret(c.ClientSecret)
		v.TokenURL, v.RevocationURL, v.DiscoveryURL = c.TokenURL, c.RevocationURL, c.DiscoveryURL
		v.Scopes = nonNil(c.Scopes)
		v.ClientAuth = c.ClientAuth
		if !c.TokenExpiresAt.IsZero() && c.AccessToken != "" {
			t := c.TokenExpiresAt
			v.TokenExpiresAt = &t
		}
		if c.AccessToken != "" {
			v.LastRefreshedAt = timeOrNil(c.TokenObtainedAt)
		}
		v.NextRefreshAt = s.nextRefresh(c)
		if c.AuthType == AuthOAuth2Code {
			v.AuthorizationURL = c.AuthorizationURL
			pkce := c.PKCE
			v.PKCE = &pkce
			v.AuthorizationParams = c.AuthorizationParams
			if v.AuthorizationParams == nil {
				v.AuthorizationParams = map[string]string{}
			}
			v.RedirectURI = s.opts.RedirectURI
		}
	case AuthBearer:
		v.Token = maskSecret(c.StaticToken)
	case AuthAPIKey:
		v.APIKey = &APIKeyView{In: c.APIKeyIn, Name: c.APIKeyName, Value: maskSecret(c.APIKeyValue)}
	}
	return v
}

// nextRefresh is when the sweep will refresh c's token: SweepWindow
// before it expires, or now for a token that lives shorter than that (the
// next sweep takes it). Nil when the token does not expire, has no refresh
// token to renew it with (authorization code), or the connection is paused.
func (s *Service) nextRefresh(c *Connection) *time.Time {
	if c.AccessToken == "" || c.TokenExpiresAt.IsZero() || !c.PausedAt.IsZero() ||
		c.Status != StatusConnected || (c.AuthType == AuthOAuth2Code && c.RefreshToken == "") {
		return nil
	}
	due, now := c.TokenExpiresAt.Add(-s.opts.SweepWindow), s.opts.Now().UTC()
	if due.Before(now) {
		return &now
	}
	return &due
}

// timeOrNil is nil for the zero time.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// apply copies the fields in sets onto c.
func (in Input) apply(c *Connection) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&c.Name, in.Name)
	if in.Description != nil {
		c.Description = *in.Description
	}
	set(&c.AuthType, in.AuthType)
	set(&c.BaseURL, in.BaseURL)
	if in.AllowedHosts != nil {
		c.AllowedHosts = slices.Clone(*in.AllowedHosts)
	}
	if in.Headers != nil {
		// An edit may send back the masked values an answer showed: they
		// keep the stored ones.
		c.Headers = secret.KeepMaskedHeaders(c.Headers, *in.Headers)
	}
	set(&c.ClientID, in.ClientID)
	if in.ClientSecret != nil {
		c.ClientSecret = *in.ClientSecret // secrets are taken as given
	}
	set(&c.AuthorizationURL, in.AuthorizationURL)
	set(&c.TokenURL, in.TokenURL)
	set(&c.RevocationURL, in.RevocationURL)
	set(&c.DiscoveryURL, in.DiscoveryURL)
	if in.Scopes != nil {
		c.Scopes = slices.Clone(*in.Scopes)
	}
	set(&c.ClientAuth, in.ClientAuth)
	if in.PKCE != nil {
		c.PKCE = *in.PKCE
	}
	if in.AuthorizationParams != nil {
		c.AuthorizationParams = maps.Clone(*in.AuthorizationParams)
	}
	if in.Token != nil {
		c.StaticToken = *in.Token
	}
	if in.APIKey != nil {
		set(&c.APIKeyIn, in.APIKey.In)
		set(&c.APIKeyName, in.APIKey.Name)
		if in.APIKey.Value != nil {
			c.APIKeyValue = *in.APIKey.Value
		}
	}
	set(&c.TestPath, in.TestPath)
	if in.RateLimit != nil {
		c.RateLimit = *in.RateLimit
	}
	if in.MaxConcurrency != nil {
		c.MaxConcurrency = *in.MaxConcurrency
	}
}

// reservedAuthParams are set by Liaison itself; an extra authorization
// parameter may not replace them.
var reservedAuthParams = []string{"client_id", "redirect_uri", "response_type", "state", "scope", "code_challenge", "code_challenge_method"}

// forbiddenHeaders are set by Liaison or by HTTP itself, never by a
// connection's fixed headers: credentials belong in the auth settings,
// where they are sealed and masked.
var forbiddenHeaders = []string{"Authorization", "Host", "Content-Length", "Transfer-Encoding", "Connection", "Cookie", "Proxy-Authorization", "User-Agent"}

// validate checks c as it would be stored and reports every bad field.
// Endpoints that discovery will fill may still be empty when discovering
// is true.
func (s *Service) validate(c *Connection, discovering bool) error {
	var errs invalid.Error
	switch n := utf8.RuneCountInString(c.Name); {
	case n == 0:
		errs.Add("name", "is required")
	case n > maxName:
		errs.Add("name", "is %d characters long; at most %d are allowed", n, maxName)
	}
	if n := utf8.RuneCountInString(c.Description); n > maxDescription {
		errs.Add("description", "is %d characters long; at most %d are allowed", n, maxDescription)
	}
	types := AuthTypes()
	switch {
	case c.AuthType == "":
		errs.Add("auth_type", "is required: one of %s", strings.Join(types, ", "))
	case !slices.Contains(types, c.AuthType):
		errs.Add("auth_type", "%q is not a known auth type; use one of %s", c.AuthType, strings.Join(types, ", "))
	}
	if c.BaseURL == "" {
		errs.Add("base_url", "is required: the address that requests through this connection go to, e.g. https://api.example.com")
	} else if msg := s.checkURL(c.BaseURL); msg != "" {
		errs.Add("base_url", "%s", msg)
	}
	for i, h := range c.AllowedHosts {
		if msg := checkHostPattern(h); msg != "" {
			errs.Add(fmt.Sprintf("allowed_hosts[%d]", i), "%s", msg)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Headers)) {
		field := "headers." + k
		switch {
		case !validHeaderName(k):
			errs.Add(field, "is not a valid HTTP header name")
		case slices.ContainsFunc(forbiddenHeaders, func(f string) bool { return strings.EqualFold(f, k) }):
			errs.Add(field, "cannot be set as a fixed header; credentials go in the connection's auth settings, where they are kept sealed")
		case strings.ContainsAny(c.Headers[k], "\r\n\x00"):
			errs.Add(field, "holds a line break or NUL")
		}
	}
	if c.TestPath != "" {
		if u, err := url.Parse(c.TestPath); err != nil || u.Host != "" || u.Scheme != "" {
			errs.Add("test_path", "must be a path relative to the base URL, e.g. /me")
		}
	}
	if c.RateLimit < 0 || c.RateLimit > maxRateLimit {
		errs.Add("rate_limit", "must be from 0 (unlimited) to %d requests per second", maxRateLimit)
	}
	if c.MaxConcurrency < 0 || c.MaxConcurrency > maxConcurrency {
		errs.Add("max_concurrency", "must be from 0 (unlimited) to %d requests at once", maxConcurrency)
	}

	switch c.AuthType {
	case AuthOAuth2Code, AuthOAuth2ClientCredentials:
		if c.ClientID == "" {
			errs.Add("client_id", "is required for %s connections: the client (application) id from the other service's app settings", c.AuthType)
		}
		if c.AuthType == AuthOAuth2ClientCredentials && c.ClientSecret == "" {
			errs.Add("client_secret", "is required for client credentials: a public client cannot use that grant")
		}
		if c.ClientAuth != "" && c.ClientAuth != ClientSecretBasic && c.ClientAuth != ClientSecretPost {
			errs.Add("client_auth", "%q is not known; use %s (the Authorization header) or %s (the form body)", c.ClientAuth, ClientSecretBasic, ClientSecretPost)
		}
		if c.DiscoveryURL != "" {
			if msg := s.checkURL(c.DiscoveryURL); msg != "" {
				errs.Add("discovery_url", "%s", msg)
			}
		}
		endpoints := []struct {
			field, value string
			required     bool
		}{
			{"authorization_url", c.AuthorizationURL, c.AuthType == AuthOAuth2Code},
			{"token_url", c.TokenURL, true},
			{"revocation_url", c.RevocationURL, false},
		}
		for _, e := range endpoints {
			switch {
			case e.value == "" && e.required && !discovering:
				errs.Add(e.field, "is required (or give a discovery URL, the provider's issuer, to read it from its metadata)")
			case e.value != "":
				if msg := s.checkURL(e.value); msg != "" {
					errs.Add(e.field, "%s", msg)
				}
			}
		}
		for i, sc := range c.Scopes {
			switch {
			case sc == "":
				errs.Add(fmt.Sprintf("scopes[%d]", i), "is empty")
			case strings.ContainsFunc(sc, func(r rune) bool { return r <= ' ' || r == '"' || r == '\\' || r == 0x7f }):
				errs.Add(fmt.Sprintf("scopes[%d]", i), "%q holds a space or a character scopes may not hold; give each scope as its own item", sc)
			}
		}
		if c.AuthType == AuthOAuth2Code {
			for _, k := range slices.Sorted(maps.Keys(c.AuthorizationParams)) {
				if slices.Contains(reservedAuthParams, k) {
					errs.Add("authorization_params."+k, "is set by Liaison itself and cannot be overridden")
				}
			}
		}
	case AuthBearer:
		if c.StaticToken == "" {
			errs.Add("token", "is required for bearer connections")
		} else if strings.ContainsAny(c.StaticToken, "\r\n\x00 ") {
			errs.Add("token", "holds a space or line break; give the token alone, without the word Bearer")
		}
	case AuthAPIKey:
		switch c.APIKeyIn {
		case APIKeyInHeader, APIKeyInQuery:
		case "":
			errs.Add("api_key.in", "is required: header or query")
		default:
			errs.Add("api_key.in", "%q is neither header nor query", c.APIKeyIn)
		}
		switch {
		case c.APIKeyName == "":
			errs.Add("api_key.name", "is required: the header or query parameter name, e.g. X-Api-Key")
		case c.APIKeyIn == APIKeyInHeader && !validHeaderName(c.APIKeyName):
			errs.Add("api_key.name", "is not a valid HTTP header name")
		}
		if c.APIKeyValue == "" {
			errs.Add("api_key.value", "is required")
		} else if strings.ContainsAny(c.APIKeyValue, "\r\n\x00") {
			errs.Add("api_key.value", "holds a line break or NUL")
		}
	}
	return errs.Err()
}

// checkURL says what is wrong with an endpoint or base URL, "" if nothing.
// Credentials travel to every one of them, so https is required. Plain http
// is let through only for a host that is an IP address inside ALLOWED_CIDRS
// (or localhost when loopback is allowed): a service on the operator's own
// network or machine, which the operator opened on purpose. Names are not
// resolved here: what a name resolves to can change, and the dial-time
// guard judges it on every request anyway.
func (s *Service) checkURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Sprintf("%q is not an absolute URL", raw)
	}
	if u.User != nil {
		return "must not carry a user name or password; use the connection's auth settings"
	}
	if u.Fragment != "" {
		return "must not have a #fragment"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if s.plainHTTPAllowed(u.Hostname()) {
			return ""
		}
		if s.loopbackOpen() {
			return "must use https; plain http is allowed only for localhost or an IP address inside ALLOWED_CIDRS"
		}
		return "must use https; plain http is allowed only for an IP address inside ALLOWED_CIDRS"
	}
	return fmt.Sprintf("scheme %q is not https", u.Scheme)
}

// loopbackOpen reports whether the guard lets requests reach loopback
// (liaison dev, or ALLOWED_CIDRS naming it).
func (s *Service) loopbackOpen() bool {
	return s.guard.Check(netip.MustParseAddr("127.0.0.1")) == nil
}

func (s *Service) plainHTTPAllowed(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return s.loopbackOpen()
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	if s.guard.Check(a) != nil {
		return false
	}
	// An address the guard lets through by default (a public one) is not
	// "inside ALLOWED_CIDRS": plain http to the internet is refused.
	return slices.ContainsFunc(s.opts.AllowedCIDRs, func(p netip.Prefix) bool { return p.Contains(a.Unmap()) })
}

// checkHostPattern checks an allowed_hosts entry: a host name or address
// with an optional port, or "*.example.com" for any subdomain.
func checkHostPattern(h string) string {
	if h == "" {
		return "is empty"
	}
	host := strings.TrimPrefix(h, "*.")
	if hh, port, err := net.SplitHostPort(host); err == nil {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return fmt.Sprintf("%q has a bad port", h)
		}
		host = hh
	}
	if strings.ContainsAny(host, "/?#@ *") || host == "" {
		return fmt.Sprintf("%q is not a host name: give just the host, e.g. api.example.com or *.example.com", h)
	}
	return ""
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// maskSecret masks a secret for an answer ("5******C").
func maskSecret(v string) string { return secret.Mask(v) }
