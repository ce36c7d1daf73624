package oauthfake

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// answer is a response decided under the lock and written after it (and
// after the SlowToken wait).
type answer struct {
	status int
	header http.Header
	body   any    // JSON
	raw    string // used when body is nil
}

// oauthError is an RFC 6749 §5.2 error answer.
func oauthError(status int, code, desc string) answer {
	return answer{status: status, body: map[string]string{"error": code, "error_description": desc}}
}

// invalidClient answers a failed client authentication: always 401 (which
// RFC 6749 §5.2 allows for every method and most providers send), with a
// Basic challenge when the client tried the Authorization header, where the
// RFC requires it.
func invalidClient(triedBasic bool, desc string) answer {
	a := oauthError(http.StatusUnauthorized, "invalid_client", desc)
	if triedBasic {
		a.header = http.Header{"Www-Authenticate": {`Basic realm="oauthfake"`}}
	}
	return a
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	form, formErr := readForm(r)
	a := p.tokenAnswer(r, form, formErr)

	p.mu.Lock()
	slow := p.slow
	p.mu.Unlock()
	if slow > 0 {
		t := time.NewTimer(slow)
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-p.closed:
		}
		t.Stop()
	}
	a.header = mergeHeader(a.header, http.Header{"Cache-Control": {"no-store"}, "Pragma": {"no-cache"}})
	write(w, a)
}

func (p *Provider) tokenAnswer(r *http.Request, form url.Values, formErr error) answer {
	p.mu.Lock()
	defer p.mu.Unlock()

	grantType := form.Get("grant_type")
	p.tokenTotal++
	p.tokenByGrant[grantType]++
	p.lastToken = TokenRequest{Form: cloneValues(form), Header: r.Header.Clone(), ClientAuth: authMethodUsed(r, form)}

	if len(p.failures) > 0 {
		f := p.failures[0]
		p.failures = p.failures[1:]
		if strings.HasPrefix(strings.TrimSpace(f.body), "{") {
			return answer{status: f.status, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, raw: f.body}
		}
		return answer{status: f.status, header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, raw: f.body}
	}

	if a, ok := p.postFormLocked("token", "token", r, formErr); !ok {
		return a
	}
	if a, ok := p.authenticateLocked("token", r, form); !ok {
		// A code sent with failed client authentication is gone: a provider
		// that let the client try again would reward guessing the method.
		if grantType == "authorization_code" {
			if c := p.codes[form.Get("code")]; c != nil {
				c.used = true
			}
		}
		return a
	}

	switch grantType {
	case "authorization_code":
		return p.exchangeCodeLocked(form)
	case "refresh_token":
		return p.refreshLocked(form)
	case "client_credentials":
		return p.clientCredentialsLocked(form)
	case "":
		return p.refuseLocked("invalid_request", "grant_type is required", "token: grant_type missing")
	default:
		return p.refuseLocked("unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported", grantType), "token: unsupported grant_type %q", grantType)
	}
}

// exchangeCodeLocked is RFC 6749 §4.1.3 with RFC 7636 §4.6.
func (p *Provider) exchangeCodeLocked(form url.Values) answer {
	code := form.Get("code")
	if code == "" {
		return p.refuseLocked("invalid_request", "code is required", "token: authorization_code without code")
	}
	c := p.codes[code]
	if c == nil {
		return p.refuseLocked("invalid_grant", "unknown authorization code", "token: unknown authorization code")
	}
	if c.used {
		// RFC 6749 §4.1.2: a code used twice may have been stolen; everything
		// issued from it is revoked.
		if c.grant != nil {
			p.revokeGrantLocked(c.grant, "authorization code reused")
			p.violateLocked("token: authorization code reused; grant %s revoked", c.grant.ID)
		} else {
			p.violateLocked("token: authorization code reused (it was burnt by an earlier failed attempt)")
		}
		return oauthError(http.StatusBadRequest, "invalid_grant", "authorization code already used")
	}
	// Burnt from here on, whatever the outcome: a second try is a reuse.
	c.used = true
	if now := p.opts.Now(); !now.Before(c.expires) {
		return p.refuseLocked("invalid_grant", "authorization code expired", "token: authorization code expired %s ago", now.Sub(c.expires).Round(time.Second))
	}
	if got, ok := form["redirect_uri"]; !ok || got[0] != c.redirectURI {
		return p.refuseLocked("invalid_grant", "redirect_uri does not match the authorization request", "token: redirect_uri %q does not match %q sent to /authorize", form.Get("redirect_uri"), c.redirectURI)
	}
	verifier, sent := form["code_verifier"]
	switch {
	case c.challenge == "" && sent:
		// OAuth 2.1 §4.1.3: a verifier without a challenge means something
		// in between dropped the challenge.
		return p.refuseLocked("invalid_grant", "code_verifier without code_challenge", "token: code_verifier sent but /authorize had no code_challenge")
	case c.challenge != "" && !sent:
		return p.refuseLocked("invalid_grant", "code_verifier is required", "token: code_verifier missing (PKCE)")
	case c.challenge != "" && !validVerifier(verifier[0]):
		return p.refuseLocked("invalid_grant", "malformed code_verifier", "token: code_verifier is not 43-128 unreserved characters (RFC 7636 §4.1)")
	case c.challenge != "" && s256(verifier[0]) != c.challenge:
		return p.refuseLocked("invalid_grant", "PKCE verification failed", "token: code_verifier does not match code_challenge (PKCE S256)")
	}
	g := p.newGrantLocked("authorization_code", p.opts.Subject, c.scopes)
	c.grant = g
	return p.issueLocked(g, c.scopes, true)
}

// refreshLocked is RFC 6749 §6 with rotation and reuse detection (OAuth 2.0
// Security BCP §4.14.2).
func (p *Provider) refreshLocked(form url.Values) answer {
	value := form.Get("refresh_token")
	if value == "" {
		return p.refuseLocked("invalid_request", "refresh_token is required", "token: refresh_token grant without refresh_token")
	}
	rt := p.refresh[value]
	if rt == nil {
		return p.refuseLocked("invalid_grant", "unknown refresh token", "token: unknown refresh token")
	}
	if rt.rotated {
		p.revokeGrantLocked(rt.grant, "refresh token reused after rotation")
		return p.refuseLocked("invalid_grant", "refresh token already used; grant revoked", "token: refresh token reused after rotation; grant %s revoked", rt.grant.ID)
	}
	if rt.grant.Revoked {
		// Not the client's mistake: the grant was revoked by the user, a
		// revocation request or RevokeAll. The client must ask for re-auth.
		return oauthError(http.StatusBadRequest, "invalid_grant", "grant revoked: "+rt.grant.RevokedBecause)
	}
	scopes := rt.grant.Scopes
	if s, ok := form["scope"]; ok {
		scopes = parseScopes(s[0])
		if bad := unknownScopes(scopes, rt.grant.Scopes); len(bad) > 0 {
			return p.refuseLocked("invalid_scope", "scope exceeds the original grant", "token: refresh asks for scope %q beyond the grant %q", strings.Join(bad, " "), strings.Join(rt.grant.Scopes, " "))
		}
	}
	if p.opts.RotateRefreshTokens {
		rt.rotated = true
	}
	return p.issueLocked(rt.grant, scopes, p.opts.RotateRefreshTokens)
}

// clientCredentialsLocked is RFC 6749 §4.4: one new grant per request.
func (p *Provider) clientCredentialsLocked(form url.Values) answer {
	if p.opts.ClientSecret == "" {
		return p.refuseLocked("unauthorized_client", "a public client cannot use client_credentials", "token: client_credentials from a public client")
	}
	scopes := parseScopes(form.Get("scope"))
	if bad := unknownScopes(scopes, p.opts.Scopes); len(bad) > 0 {
		return p.refuseLocked("invalid_scope", fmt.Sprintf("unknown scope %q", strings.Join(bad, " ")), "token: unknown scope %q", strings.Join(bad, " "))
	}
	g := p.newGrantLocked("client_credentials", p.opts.ClientID, scopes)
	return p.issueLocked(g, scopes, false)
}

func (p *Provider) issueLocked(g *grant, scopes []string, withRefresh bool) answer {
	at := newSecret("at-")
	p.access[at] = &accessToken{grant: g, scopes: scopes, expires: p.opts.Now().Add(p.opts.AccessTTL)}
	body := map[string]any{
		"access_token": at,
		"token_type":   "Bearer",
		// Rounded up: 0 would read as "never expires" to most clients.
		"expires_in": int64((p.opts.AccessTTL + time.Second - 1) / time.Second),
	}
	if len(scopes) > 0 {
		body["scope"] = strings.Join(scopes, " ")
	}
	if withRefresh {
		rt := newSecret("rt-")
		p.refresh[rt] = &refreshToken{grant: g}
		body["refresh_token"] = rt
	}
	return answer{status: http.StatusOK, body: body}
}

// revoke is RFC 7009. Unknown tokens answer 200 too, so a client cannot
// probe for valid tokens; revoking a refresh token revokes its grant.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	form, formErr := readForm(r)
	a := p.revokeAnswer(r, form, formErr)
	write(w, a)
}

func (p *Provider) revokeAnswer(r *http.Request, form url.Values, formErr error) answer {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.postFormLocked("revoke", "revocation", r, formErr); !ok {
		return a
	}
	if a, ok := p.authenticateLocked("revoke", r, form); !ok {
		return a
	}
	value := form.Get("token")
	if value == "" {
		return p.refuseLocked("invalid_request", "token is required", "revoke: token missing")
	}
	// token_type_hint only speeds up the lookup (RFC 7009 §2.1); both maps
	// are searched whatever it says.
	if at := p.access[value]; at != nil {
		at.revoked = true
	}
	if rt := p.refresh[value]; rt != nil {
		p.revokeGrantLocked(rt.grant, "refresh token revoked (RFC 7009)")
	}
	return answer{status: http.StatusOK}
}

// authenticateLocked checks client authentication strictly by
// Options.ClientAuth; on failure it returns the answer to send.
func (p *Provider) authenticateLocked(endpoint string, r *http.Request, form url.Values) (answer, bool) {
	used := authMethodUsed(r, form)
	triedBasic := r.Header.Get("Authorization") != ""
	want := p.opts.ClientAuth
	if p.opts.ClientSecret == "" {
		want = ClientAuthNone
	}
	switch {
	case used == "multiple":
		// RFC 6749 §2.3: one method per request.
		p.violateLocked("%s: client authenticated with both the Authorization header and client_secret", endpoint)
		return oauthError(http.StatusBadRequest, "invalid_request", "more than one client authentication method"), false
	case used == "":
		p.violateLocked("%s: no client authentication (want %s)", endpoint, want)
		return invalidClient(false, "client authentication required"), false
	case used != want:
		p.violateLocked("%s: client authenticated with %s; this client is registered for %s", endpoint, used, want)
		return invalidClient(triedBasic, fmt.Sprintf("client authentication method %s is not allowed for this client", used)), false
	}

	switch used {
	case ClientSecretBasic:
		id, secret, err := basicCredentials(r.Header.Get("Authorization"))
		if err != nil {
			p.violateLocked("%s: %v", endpoint, err)
			return invalidClient(true, err.Error()), false
		}
		if id != p.opts.ClientID || secret != p.opts.ClientSecret {
			p.violateLocked("%s: wrong client credentials in the Authorization header (are they form-urlencoded before base64, RFC 6749 §2.3.1?)", endpoint)
			return invalidClient(true, "wrong client credentials"), false
		}
		if bodyID, ok := form["client_id"]; ok && bodyID[0] != id {
			p.violateLocked("%s: client_id %q in the body differs from the Authorization header", endpoint, bodyID[0])
			return invalidClient(true, "client_id differs from the authenticated client"), false
		}
	case ClientSecretPost:
		if form.Get("client_id") != p.opts.ClientID || form.Get("client_secret") != p.opts.ClientSecret {
			p.violateLocked("%s: wrong client_id or client_secret in the body", endpoint)
			return invalidClient(false, "wrong client credentials"), false
		}
	case ClientAuthNone:
		if form.Get("client_id") != p.opts.ClientID {
			p.violateLocked("%s: client_id %q; want %q", endpoint, form.Get("client_id"), p.opts.ClientID)
			return invalidClient(false, "unknown client"), false
		}
	}
	return answer{}, true
}

// authMethodUsed names how a request tried to authenticate the client.
func authMethodUsed(r *http.Request, form url.Values) string {
	header := r.Header.Get("Authorization") != ""
	_, secret := form["client_secret"]
	switch {
	case header && secret:
		return "multiple"
	case header:
		return ClientSecretBasic
	case secret:
		return ClientSecretPost
	case form.Has("client_id"):
		return ClientAuthNone
	}
	return ""
}

// basicCredentials decodes RFC 6749 §2.3.1 Basic credentials: id and
// secret are form-urlencoded before they are joined and base64-encoded.
func basicCredentials(h string) (id, secret string, err error) {
	scheme, enc, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", fmt.Errorf("authorization scheme %q; want Basic", scheme)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", "", fmt.Errorf("the Authorization header is not base64: %w", err)
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New("the Authorization header has no ':' between id and secret")
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", fmt.Errorf("client id in the Authorization header is not form-urlencoded: %w", err)
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", fmt.Errorf("client secret in the Authorization header is not form-urlencoded: %w", err)
	}
	return id, secret, nil
}

// readForm reads a token or revocation request body. Only the body counts
// (RFC 6749 §3.2): parameters in the URL, another content type and repeated
// parameters are refused rather than guessed at.
func readForm(r *http.Request) (url.Values, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("content type %q; want application/x-www-form-urlencoded", ct)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return form, fmt.Errorf("body is not form-urlencoded: %w", err)
	}
	if r.URL.RawQuery != "" {
		return form, fmt.Errorf("parameters in the URL query (%s); they belong in the body", r.URL.RawQuery)
	}
	if k := repeated(form); k != "" {
		return form, fmt.Errorf("parameter %s sent more than once", k)
	}
	return form, nil
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func mergeHeader(dst, src http.Header) http.Header {
	if dst == nil {
		dst = http.Header{}
	}
	for k, v := range src {
		if _, ok := dst[k]; !ok {
			dst[k] = slices.Clone(v)
		}
	}
	return dst
}

func write(w http.ResponseWriter, a answer) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	if a.body != nil {
		writeJSON(w, a.status, a.body)
		return
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.raw)
}

// postFormLocked refuses, as the endpoint (what: "token", "revocation")
// named in violations as where, a request that is not a POST or whose form
// did not parse.
func (p *Provider) postFormLocked(where, what string, r *http.Request, formErr error) (answer, bool) {
	if r.Method != http.MethodPost {
		p.violateLocked("%s: %s request; the %s endpoint takes POST only", where, r.Method, what)
		a := oauthError(http.StatusMethodNotAllowed, "invalid_request", "the "+what+" endpoint takes POST")
		a.header = http.Header{"Allow": {http.MethodPost}}
		return a, false
	}
	if formErr != nil {
		return p.refuseLocked("invalid_request", formErr.Error(), "%s: %v", where, formErr), false
	}
	return answer{}, true
}
