package connections

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/id"
	"github.com/liaison/liaison/internal/invalid"
)

// Create validates and stores a new connection. OAuth endpoints left empty
// are read from discovery_url. PKCE is on unless the input turns it off.
func (s *Service) Create(ctx context.Context, in Input) (View, error) {
	now := s.now()
	c := &Connection{ID: id.New("conn"), PKCE: true, CreatedAt: now, UpdatedAt: now}
	in.apply(c)
	if err := s.prepareSettings(ctx, c, in, nil); err != nil {
		return View{}, err
	}
	switch c.AuthType {
	case AuthBearer, AuthAPIKey:
		c.Status = StatusConnected
	default:
		c.Status = StatusPending
	}
	if err := s.insert(ctx, c); err != nil {
		return View{}, err
	}
	return s.view(c), nil
}

// prepareSettings validates c after in was applied, running discovery when
// it applies. old is the connection before an edit (nil on create).
func (s *Service) prepareSettings(ctx context.Context, c *Connection, in Input, old *Connection) error {
	if err := s.validate(c, c.DiscoveryURL != ""); err != nil {
		return err
	}
	explicit := map[string]bool{
		"authorization_url": in.AuthorizationURL != nil && *in.AuthorizationURL != "",
		"token_url":         in.TokenURL != nil && *in.TokenURL != "",
		"revocation_url":    in.RevocationURL != nil && *in.RevocationURL != "",
		"client_auth":       in.ClientAuth != nil && *in.ClientAuth != "",
	}
	// On a connection that reads its endpoints from discovery, an endpoint
	// left or made empty means "the one discovery names": read the
	// metadata again rather than store an empty endpoint.
	emptied := (in.AuthorizationURL != nil && *in.AuthorizationURL == "") ||
		(in.TokenURL != nil && *in.TokenURL == "") ||
		(in.RevocationURL != nil && *in.RevocationURL == "") ||
		c.TokenURL == "" || (c.AuthType == AuthOAuth2Code && c.AuthorizationURL == "")
	rediscover := old == nil || old.DiscoveryURL != c.DiscoveryURL || old.AuthType != c.AuthType || emptied
	if c.DiscoveryURL != "" && rediscover {
		if old != nil && old.DiscoveryURL != c.DiscoveryURL {
			// Endpoints that came from the old provider's metadata go with it.
			for field, dst := range map[string]*string{"authorization_url": &c.AuthorizationURL, "token_url": &c.TokenURL, "revocation_url": &c.RevocationURL} {
				if !explicit[field] {
					*dst = ""
				}
			}
		}
		if err := s.applyDiscovery(ctx, c, explicit); err != nil {
			return err
		}
		if err := s.validate(c, false); err != nil {
			return err
		}
	}
	if c.DiscoveryURL == "" {
		c.Issuer = ""
	}
	if c.isOAuth() && c.ClientAuth == "" && c.ClientSecret != "" {
		// RFC 6749 §2.3.1: every provider must accept the header.
		c.ClientAuth = ClientSecretBasic
	}
	if !c.isOAuth() {
		c.ClientID, c.ClientSecret, c.AuthorizationURL, c.TokenURL, c.RevocationURL = "", "", "", "", ""
		c.DiscoveryURL, c.Issuer, c.ClientAuth, c.Scopes, c.AuthorizationParams = "", "", "", nil, nil
	}
	if c.AuthType != AuthBearer {
		c.StaticToken = ""
	}
	if c.AuthType != AuthAPIKey {
		c.APIKeyIn, c.APIKeyName, c.APIKeyValue = "", "", ""
	}
	return nil
}

// Get returns one connection as answers show it.
func (s *Service) Get(ctx context.Context, id string) (View, error) {
	c, err := s.load(ctx, id)
	if err != nil {
		return View{}, err
	}
	return s.view(c), nil
}

// List returns up to limit connections created after the one with id
// after ("" for the first page), oldest first, of one auth type when
// authType is not "", and the cursor of the next page ("" when this is the
// last). An unknown auth type is an *invalid.Error naming auth_type.
func (s *Service) List(ctx context.Context, after string, limit int, authType string) ([]View, string, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	view := func(row db.Row) (View, error) {
		c, err := s.scan(row)
		if err != nil {
			return View{}, err
		}
		return s.view(c), nil
	}
	query, args := `SELECT `+columns+` FROM connections WHERE id > $1 ORDER BY id LIMIT $2`, []any{after, limit + 1}
	if authType != "" {
		if !slices.Contains(AuthTypes(), authType) {
			return nil, "", invalid.New("auth_type", "%q is not a known auth type; use one of %s", authType, strings.Join(AuthTypes(), ", "))
		}
		query, args = `SELECT `+columns+` FROM connections WHERE id > $1 AND auth_type = $3 ORDER BY id LIMIT $2`, append(args, authType)
	}
	out, more, err := db.Page(ctx, s.opts.DB, view, limit, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("listing connections: %w", err)
	}
	if !more {
		return out, "", nil
	}
	return out, out[limit-1].ID, nil
}

// Update edits a connection; only the fields in is names change. A change
// that makes the stored token no longer match (client, endpoints, scopes,
// auth type) drops the token: an authorization-code connection must be
// connected again (needs_reauth), a client-credentials one fetches a new
// token on its next use. A new static token or API key makes the
// connection connected again.
func (s *Service) Update(ctx context.Context, id string, in Input) (View, error) {
	for attempt := 0; ; attempt++ {
		old, err := s.load(ctx, id)
		if err != nil {
			return View{}, err
		}
		c := cloneConnection(old)
		in.apply(c)
		if err := s.prepareSettings(ctx, c, in, old); err != nil {
			return View{}, err
		}
		reauth := ""
		switch {
		case c.AuthType != old.AuthType:
			dropTokens(c)
			c.Status, c.LastError = StatusPending, ""
			if !c.isOAuth() {
				c.Status = StatusConnected
			}
		case c.isOAuth() && grantChanged(old, c):
			dropTokens(c)
			c.Status, c.LastError = StatusPending, ""
			if c.AuthType == AuthOAuth2Code && old.Status != StatusPending {
				reauth = "the client, endpoints or scopes changed; connect again so the token matches them"
				c.Status, c.LastError = StatusNeedsReauth, reauth
			}
		case c.AuthType == AuthBearer && c.StaticToken != old.StaticToken,
			c.AuthType == AuthAPIKey && (c.APIKeyValue != old.APIKeyValue || c.APIKeyName != old.APIKeyName || c.APIKeyIn != old.APIKeyIn):
			c.Status, c.LastError = StatusConnected, ""
			// A new version, so that a 401 to the old credential, answered
			// after this edit, cannot mark the new one (markNeedsReauth).
			c.TokenVersion++
		}
		c.UpdatedAt = s.now()
		wrote, err := s.update(ctx, c, old.TokenVersion)
		if err != nil {
			return View{}, err
		}
		if !wrote {
			if attempt < 3 {
				continue // a refresh landed meanwhile; apply the edit to it
			}
			return View{}, fmt.Errorf("updating connection %s: it keeps changing; try again", id)
		}
		if reauth != "" && old.Status != StatusNeedsReauth {
			s.record(ctx, EventNeedsReauth, map[string]any{"connection_id": c.ID, "name": c.Name, "auth_type": c.AuthType, "reason": reauth})
		}
		if c.Status == StatusConnected {
			s.connected(ctx, c, old.Status) // a new static token or API key
		}
		return s.view(c), nil
	}
}

func cloneConnection(c *Connection) *Connection {
	n := *c
	n.AllowedHosts = slices.Clone(c.AllowedHosts)
	n.Scopes = slices.Clone(c.Scopes)
	n.Headers = maps.Clone(c.Headers)
	n.AuthorizationParams = maps.Clone(c.AuthorizationParams)
	return &n
}

func dropTokens(c *Connection) {
	c.AccessToken, c.RefreshToken = "", ""
	c.TokenObtainedAt, c.TokenExpiresAt = time.Time{}, time.Time{}
	c.TokenVersion++
}

// grantChanged reports whether a stored token no longer belongs to c's
// settings: another client, another provider, other scopes.
func grantChanged(old, c *Connection) bool {
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return slices.Compact(s) }
	return old.ClientID != c.ClientID || old.ClientSecret != c.ClientSecret ||
		old.TokenURL != c.TokenURL || old.AuthorizationURL != c.AuthorizationURL ||
		!slices.Equal(sorted(old.Scopes), sorted(c.Scopes))
}

// DeleteResult says how a deletion went at the provider.
type DeleteResult struct {
	// Revoked: the provider confirmed the revocation (RFC 7009).
	Revoked bool `json:"revoked"`
	// RevokeError says why revoking failed; the connection is deleted anyway.
	RevokeError string `json:"revoke_error,omitempty"`
}

// Delete revokes the connection's tokens at the provider when it has a
// revocation endpoint, then deletes the connection whatever the provider
// said: a provider that is down must not keep a connection alive.
func (s *Service) Delete(ctx context.Context, id string) (DeleteResult, error) {
	c, err := s.load(ctx, id)
	if err != nil {
		return DeleteResult{}, err
	}
	var res DeleteResult
	if c.isOAuth() && c.RevocationURL != "" && (c.AccessToken != "" || c.RefreshToken != "") {
		if err := s.revoke(ctx, c); err != nil {
			res.RevokeError = err.Error()
			s.opts.Log.WarnContext(ctx, "revoking tokens of a deleted connection", "connection_id", id, "error", err)
		} else {
			res.Revoked = true
		}
	}
	r, err := s.opts.DB.ExecContext(ctx, `DELETE FROM connections WHERE id = $1`, id)
	if err != nil {
		return res, fmt.Errorf("deleting connection %s: %w", id, err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return res, ErrNotFound
	}
	return res, nil
}

// TestResult is what a test request through a connection found.
type TestResult struct {
	OK        bool   `json:"ok"`
	Status    int    `json:"status,omitempty"`
	LatencyMS int64  `json:"latency_ms"`
	URL       string `json:"url,omitempty"`
	// Error says what went wrong in plain words.
	Error string `json:"error,omitempty"`
}

// Test sends GET test_path (base_url itself when there is none) through the
// connection, with its credentials, refreshing the token if it must. It
// works on a paused connection too: a person is checking it.
func (s *Service) Test(ctx context.Context, id string) (TestResult, error) {
	c, err := s.load(ctx, id)
	if err != nil {
		return TestResult{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.TestPath, nil)
	if err != nil {
		return TestResult{}, fmt.Errorf("building test request: %w", err)
	}
	req.Header.Set("Accept", "application/json, */*")
	start := time.Now()
	resp, err := s.do(ctx, id, req, true) // a paused connection too: a person is checking it
	res := TestResult{LatencyMS: time.Since(start).Milliseconds()}
	if target, rerr := resolve(c, req.URL); rerr == nil {
		res.URL = redactURL(target, apiKeyParam(c))
	}
	if err != nil {
		res.Error = PlainError(err)
		return res, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	res.Status = resp.StatusCode
	res.OK = resp.StatusCode >= 200 && resp.StatusCode < 300
	if !res.OK {
		res.Error = fmt.Sprintf("the service answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		if b := excerpt(body); b != "" && resp.StatusCode >= 400 {
			res.Error += ": " + b
		}
	}
	return res, nil
}

func apiKeyParam(c *Connection) string {
	if c.AuthType == AuthAPIKey && c.APIKeyIn == APIKeyInQuery {
		return c.APIKeyName
	}
	return ""
}

// PlainError says what an error from Do means, in words for a person.
func PlainError(err error) string {
	var (
		re *ReauthError
		fe *RefusedError
		be *BlockedError
	)
	switch {
	case errors.As(err, &re):
		return "the connection needs to be reconnected: " + re.Reason
	case errors.Is(err, ErrPaused):
		return "the connection is paused; resume it to send through it"
	case errors.As(err, &be):
		return "refused before sending: " + be.Error()
	case errors.As(err, &fe):
		return "refused before sending: " + fe.Reason
	case errors.Is(err, ErrTokenEndpoint):
		return "the provider's token endpoint is not answering properly right now (timeouts or server errors); the connection is unchanged, try again later"
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout exceeded"):
		return "the service did not answer in time"
	}
	return "the request failed: " + err.Error()
}

// Refresh replaces an OAuth connection's access token now, whether or not
// it is about to expire (once, across processes, like any refresh). It
// works on a paused connection too: a person is checking it.
func (s *Service) Refresh(ctx context.Context, id string) (View, error) {
	c, err := s.load(ctx, id)
	if err != nil {
		return View{}, err
	}
	if !c.isOAuth() {
		return View{}, fmt.Errorf("%w: %s connections have no token to refresh", ErrWrongType, c.AuthType)
	}
	if _, _, err := s.accessToken(ctx, c, true); err != nil {
		return View{}, err
	}
	return s.Get(ctx, id)
}
