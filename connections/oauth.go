package connections

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/liaison/liaison/internal/invalid"
)

// authStyle is the client authentication the connection names, never
// AutoDetect: detecting means trying one method and then the other, and a
// provider burns the authorization code on the first failure. A public
// client (no secret) sends its client_id in the body.
func authStyle(c *Connection) oauth2.AuthStyle {
	if c.ClientSecret == "" || c.ClientAuth == ClientSecretPost {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

func (s *Service) oauthConfig(c *Connection) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   c.AuthorizationURL,
			TokenURL:  c.TokenURL,
			AuthStyle: authStyle(c),
		},
		RedirectURL: s.opts.RedirectURI,
		Scopes:      c.Scopes,
	}
}

// metadata is the part of OpenID / RFC 8414 authorization server metadata
// Liaison reads.
type metadata struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
}

// discover reads the provider's metadata from discovery_url, which is
// either the document itself (a URL with /.well-known/ in it) or the
// issuer: then /.well-known/openid-configuration is tried, and RFC 8414's
// /.well-known/oauth-authorization-server after it. The requests go
// through the guard like every other.
func (s *Service) discover(ctx context.Context, raw string) (*metadata, error) {
	var candidates []string
	if strings.Contains(raw, "/.well-known/") {
		candidates = []string{raw}
	} else {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%q is not a URL", raw)
		}
		path := strings.TrimSuffix(u.Path, "/")
		oidc, rfc := *u, *u
		oidc.Path = path + "/.well-known/openid-configuration"
		rfc.Path = "/.well-known/oauth-authorization-server" + path // RFC 8414 §3.1
		candidates = []string{oidc.String(), rfc.String()}
	}
	var errs []string
	for _, u := range candidates {
		m, err := s.fetchMetadata(ctx, u)
		if err == nil {
			if m.TokenEndpoint == "" {
				errs = append(errs, u+": the document names no token_endpoint")
				continue
			}
			return m, nil
		}
		if errors.Is(err, ErrBlocked) {
			return nil, err
		}
		errs = append(errs, err.Error())
	}
	return nil, errors.New(strings.Join(errs, "; "))
}

func (s *Service) fetchMetadata(ctx context.Context, u string) (*metadata, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.TokenTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", s.userAgent())
	resp, err := s.tokenClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %d", u, resp.StatusCode)
	}
	var m metadata
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("%s is not JSON metadata: %w", u, err)
	}
	return &m, nil
}

// applyDiscovery fills the endpoints the person left empty from the
// provider's metadata and checks them like typed ones.
func (s *Service) applyDiscovery(ctx context.Context, c *Connection, explicit map[string]bool) error {
	if c.DiscoveryURL == "" || !c.isOAuth() {
		return nil
	}
	m, err := s.discover(ctx, c.DiscoveryURL)
	if err != nil {
		return invalid.New("discovery_url", "could not read the provider's metadata: %v", redactErr(err))
	}
	c.Issuer = m.Issuer
	fill := func(field string, dst *string, v string) {
		if !explicit[field] && v != "" {
			*dst = v
		}
	}
	fill("authorization_url", &c.AuthorizationURL, m.AuthorizationEndpoint)
	fill("token_url", &c.TokenURL, m.TokenEndpoint)
	fill("revocation_url", &c.RevocationURL, m.RevocationEndpoint)
	// Documented by the provider, so not a guess: when it supports only the
	// form body, use that.
	if !explicit["client_auth"] && c.ClientAuth == "" && len(m.TokenAuthMethods) > 0 &&
		!slices.Contains(m.TokenAuthMethods, ClientSecretBasic) && slices.Contains(m.TokenAuthMethods, ClientSecretPost) {
		c.ClientAuth = ClientSecretPost
	}
	return nil
}

// AuthorizeURL starts connecting (or reconnecting) an authorization-code
// connection: it returns the URL to send the person to, with a state that
// can be used once, within StateTTL, for this connection only, and a PKCE
// S256 challenge unless the connection turned PKCE off.
func (s *Service) AuthorizeURL(ctx context.Context, id string) (string, error) {
	c, err := s.load(ctx, id)
	if err != nil {
		return "", err
	}
	if c.AuthType != AuthOAuth2Code {
		return "", fmt.Errorf("%w: only %s connections are authorized in a browser", ErrWrongType, AuthOAuth2Code)
	}
	state := oauth2.GenerateVerifier() // 32 random bytes, base64url
	verifier := ""
	var opts []oauth2.AuthCodeOption
	if c.PKCE {
		verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	for _, k := range slices.Sorted(maps.Keys(c.AuthorizationParams)) {
		opts = append(opts, oauth2.SetAuthURLParam(k, c.AuthorizationParams[k]))
	}
	hash := stateHash(state)
	sealedVerifier, err := s.opts.Ring.SealString(verifier, "oauth_state:"+hash)
	if err != nil {
		return "", fmt.Errorf("sealing PKCE verifier: %w", err)
	}
	now := s.now()
	if _, err := s.opts.DB.ExecContext(ctx, `INSERT INTO oauth_states (state_hash, connection_id, code_verifier, redirect_uri, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, hash, c.ID, sealedVerifier, s.opts.RedirectURI, now, now.Add(s.opts.StateTTL)); err != nil {
		return "", fmt.Errorf("storing authorization state: %w", err)
	}
	// Old, unused states are of no use to anyone.
	if _, err := s.opts.DB.ExecContext(ctx, `DELETE FROM oauth_states WHERE expires_at < $1`, now.Add(-time.Hour)); err != nil {
		s.opts.Log.WarnContext(ctx, "removing expired authorization states", "error", err)
	}
	return s.oauthConfig(c).AuthCodeURL(state, opts...), nil
}

// RedirectURI is the redirect URI of every authorization-code connection
// (Options.RedirectURI): what a person registers at the other service,
// shown before a connection exists.
func (s *Service) RedirectURI() string { return s.opts.RedirectURI }

func stateHash(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// Outcome is how a return to the redirect URI ended. When it names a
// connection, a failure's Message is also stored as the connection's last
// error, which the connection's page shows.
type Outcome struct {
	OK           bool
	ConnectionID string
	// Problem is a short code: access_denied, expired_state, unknown_state,
	// token_error, provider_error, mismatch.
	Problem string
	// Message says what went wrong and what to do, without secrets ("" on
	// success).
	Message string
}

// Complete finishes an authorization when the provider sends the browser
// back to the redirect URI with query (code and state, or error). It
// consumes the state whatever the outcome: a state works once.
func (s *Service) Complete(ctx context.Context, query url.Values) Outcome {
	state := query.Get("state")
	if state == "" {
		return Outcome{Problem: "unknown_state", Message: "The link is missing its state parameter, so Liaison cannot tell which connection it belongs to. Start again with Connect."}
	}
	var (
		connID, sealedVerifier, redirectURI string
		expires                             time.Time
	)
	hash := stateHash(state)
	err := s.opts.DB.QueryRowContext(ctx, `DELETE FROM oauth_states WHERE state_hash = $1
		RETURNING connection_id, code_verifier, redirect_uri, expires_at`, hash).Scan(&connID, &sealedVerifier, &redirectURI, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Outcome{Problem: "unknown_state", Message: "This authorization link was already used or is not one Liaison made. Start again with Connect."}
	}
	if err != nil {
		s.opts.Log.ErrorContext(ctx, "reading authorization state", "error", err)
		return Outcome{Problem: "internal", Message: "Liaison could not read the authorization state. Try again in a moment."}
	}
	c, err := s.load(ctx, connID)
	if err != nil {
		return Outcome{Problem: "unknown_state", Message: "The connection this authorization was for no longer exists."}
	}
	out := Outcome{ConnectionID: c.ID}
	fail := func(problem, msg string) Outcome {
		out.Problem, out.Message = problem, msg
		s.setLastError(ctx, c.ID, msg)
		return out
	}
	if !s.opts.Now().Before(expires) {
		return fail("expired_state", fmt.Sprintf("The authorization took longer than %s and expired. Start again with Connect.", s.opts.StateTTL.Round(time.Minute)))
	}
	if e := query.Get("error"); e != "" {
		desc := query.Get("error_description")
		if e == "access_denied" {
			return fail("access_denied", "Access was denied at the provider (access_denied), so the connection was not made. Connect again and approve access to use it.")
		}
		msg := "The provider refused the authorization: " + e
		if desc != "" {
			msg += " (" + desc + ")"
		}
		return fail("provider_error", msg+".")
	}
	if iss := query.Get("iss"); iss != "" && c.Issuer != "" && iss != c.Issuer {
		// RFC 9207: an answer from another provider than the one asked.
		return fail("mismatch", "The answer came from a different provider than the one this connection uses ("+iss+"), so it was refused.")
	}
	code := query.Get("code")
	if code == "" {
		return fail("provider_error", "The provider sent the browser back without an authorization code.")
	}
	verifier, err := s.opts.Ring.OpenString(sealedVerifier, "oauth_state:"+hash)
	if err != nil {
		s.opts.Log.ErrorContext(ctx, "opening PKCE verifier", "connection_id", c.ID, "error", err)
		return fail("internal", "Liaison could not read its own authorization state. Start again with Connect.")
	}
	cfg := s.oauthConfig(c)
	cfg.RedirectURL = redirectURI // exactly what /authorize was given
	var opts []oauth2.AuthCodeOption
	if verifier != "" {
		opts = append(opts, oauth2.VerifierOption(verifier))
	}
	// One attempt only: an authorization code is single use, and a retry
	// after the provider processed it would be a reuse.
	ectx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, s.tokenClient()), s.opts.TokenTimeout)
	defer cancel()
	tok, err := cfg.Exchange(ectx, code, opts...)
	if err != nil {
		reason, _ := classifyTokenError(err)
		if reason == "" {
			reason = redactErr(err).Error()
		}
		return fail("token_error", "The provider's token endpoint did not give a token: "+reason+". Check the client id, secret and client authentication, then connect again.")
	}
	from, err := s.storeAuthorized(ctx, c, tokensFrom(tok))
	if err != nil {
		s.opts.Log.ErrorContext(ctx, "storing tokens", "connection_id", c.ID, "error", err)
		return fail("internal", "Liaison got the tokens but could not store them. Connect again.")
	}
	s.opts.Log.InfoContext(ctx, "connection authorized", "connection_id", c.ID)
	s.connected(ctx, c, from)
	out.OK = true
	return out
}

// storeAuthorized stores the tokens of a completed authorization, whatever
// the connection held, and returns the state it replaced. The write is
// guarded by token_version, so that the state it reports is the one it
// replaced even when a refresh or a refusal lands meanwhile.
func (s *Service) storeAuthorized(ctx context.Context, c *Connection, t tokens) (string, error) {
	access, err := s.opts.Ring.SealString(t.access, aad(c.ID, "access_token"))
	if err != nil {
		return "", fmt.Errorf("sealing access token: %w", err)
	}
	refresh, err := s.opts.Ring.SealString(t.refresh, aad(c.ID, "refresh_token"))
	if err != nil {
		return "", fmt.Errorf("sealing refresh token: %w", err)
	}
	cur := c
	for range 5 {
		now := s.now()
		res, err := s.opts.DB.ExecContext(ctx, `UPDATE connections SET access_token = $1, refresh_token = $2,
			token_obtained_at = $3, token_expires_at = $4, token_version = token_version + 1,
			status = $5, last_error = '', updated_at = $3 WHERE id = $6 AND token_version = $7`,
			access, refresh, now, nullTime(t.expiresAt), StatusConnected, c.ID, cur.TokenVersion)
		if err != nil {
			return "", fmt.Errorf("storing tokens: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return "", fmt.Errorf("storing tokens: %w", err)
		} else if n == 1 {
			return cur.Status, nil
		}
		if cur, err = s.load(ctx, c.ID); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("storing tokens: connection %s keeps changing", c.ID)
}

// revoke asks the provider to revoke the connection's grant (RFC 7009):
// the refresh token when there is one (which ends the whole grant),
// otherwise the access token.
func (s *Service) revoke(ctx context.Context, c *Connection) error {
	token, hint := c.RefreshToken, "refresh_token"
	if token == "" {
		token, hint = c.AccessToken, "access_token"
	}
	form := url.Values{"token": {token}, "token_type_hint": {hint}}
	style := authStyle(c)
	if style == oauth2.AuthStyleInParams {
		form.Set("client_id", c.ClientID)
		if c.ClientSecret != "" {
			form.Set("client_secret", c.ClientSecret)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.TokenTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.RevocationURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("building revocation request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", s.userAgent())
	if style == oauth2.AuthStyleInHeader {
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
	}
	resp, err := s.tokenClient().Do(req)
	if err != nil {
		return fmt.Errorf("revoking at %s: %w", c.RevocationURL, redactErr(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoking at %s: the provider answered %d %s", c.RevocationURL, resp.StatusCode, excerpt(body))
	}
	return nil
}
