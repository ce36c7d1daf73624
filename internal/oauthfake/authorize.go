package oauthfake

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authorize is the authorization endpoint (RFC 6749 §4.1.1). The user
// approves at once unless DenyNext was called, or is asked on the consent
// page (Options.ConsentPage).
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()

	q := r.URL.Query()
	p.lastAuthorize = cloneValues(q)
	if r.Method != http.MethodGet {
		p.violateLocked("authorize: %s request; the authorization endpoint is opened with GET", r.Method)
		w.Header().Set("Allow", http.MethodGet)
		page(w, http.StatusMethodNotAllowed, "invalid_request", "the authorization endpoint takes GET")
		return
	}

	// Until client_id and redirect_uri are known good the browser must not be
	// sent anywhere (RFC 6749 §4.1.2.1): the user sees an error page.
	if k := repeated(q); k == "client_id" || k == "redirect_uri" {
		p.violateLocked("authorize: parameter %s sent more than once", k)
		page(w, http.StatusBadRequest, "invalid_request", k+" sent more than once")
		return
	}
	if got := q.Get("client_id"); got != p.opts.ClientID {
		p.violateLocked("authorize: client_id %q; want %q", got, p.opts.ClientID)
		page(w, http.StatusBadRequest, "invalid_client", fmt.Sprintf("unknown client_id %q", got))
		return
	}
	redirectURI := q.Get("redirect_uri")
	if !slices.Contains(p.opts.RedirectURIs, redirectURI) {
		p.violateLocked("authorize: redirect_uri %q is not registered (registered: %q)", redirectURI, p.opts.RedirectURIs)
		page(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("redirect_uri %q is not registered for this client", redirectURI))
		return
	}
	back, err := url.Parse(redirectURI)
	if err != nil {
		page(w, http.StatusInternalServerError, "server_error", "registered redirect_uri does not parse")
		return
	}

	state := q.Get("state")
	fail := func(code, desc string) {
		p.violateLocked("authorize: %s: %s", code, desc)
		p.redirectLocked(w, r, back, url.Values{"error": {code}, "error_description": {desc}}, state)
	}
	if k := repeated(q); k != "" {
		fail("invalid_request", fmt.Sprintf("parameter %s sent more than once", k))
		return
	}
	if got := q.Get("response_type"); got != "code" {
		fail("unsupported_response_type", fmt.Sprintf("response_type %q; only code is supported", got))
		return
	}
	if state == "" {
		// Optional in RFC 6749, but a client without state cannot tell its
		// own callback from a forged one (CSRF, RFC 6749 §10.12).
		fail("invalid_request", "state is required")
		return
	}
	challenge := q.Get("code_challenge")
	switch method := q.Get("code_challenge_method"); {
	case challenge == "" && method != "":
		fail("invalid_request", "code_challenge_method without code_challenge")
		return
	case challenge == "" && p.opts.RequirePKCE:
		fail("invalid_request", "code_challenge is required (PKCE, S256)")
		return
	case challenge != "" && method != "S256":
		// An absent method means plain (RFC 7636 §4.3), refused like "plain".
		fail("invalid_request", fmt.Sprintf("code_challenge_method %q; only S256 is accepted", method))
		return
	case challenge != "" && !validChallenge(challenge):
		fail("invalid_request", "code_challenge is not a base64url S256 digest (43 characters)")
		return
	}
	scopes := parseScopes(q.Get("scope"))
	if bad := unknownScopes(scopes, p.opts.Scopes); len(bad) > 0 {
		fail("invalid_scope", fmt.Sprintf("unknown scope %q", strings.Join(bad, " ")))
		return
	}

	if p.denyNext {
		p.denyNext = false
		p.redirectLocked(w, r, back, url.Values{"error": {"access_denied"}, "error_description": {"the user denied access"}}, state)
		return
	}
	req := &consent{back: back, state: state, code: authCode{redirectURI: redirectURI, challenge: challenge, scopes: scopes}}
	if p.opts.ConsentPage {
		p.askLocked(w, req)
		return
	}
	p.approveLocked(w, r, req)
}

// approveLocked issues a code for an approved request and sends the
// browser back with it.
func (p *Provider) approveLocked(w http.ResponseWriter, r *http.Request, req *consent) {
	code := newSecret("code-")
	c := req.code
	c.expires = p.opts.Now().Add(CodeTTL)
	p.codes[code] = &c
	p.redirectLocked(w, r, req.back, url.Values{"code": {code}}, req.state)
}

// redirectLocked sends the browser back to the client with params, state
// and iss (RFC 9207), keeping any query the redirect URI already has.
func (p *Provider) redirectLocked(w http.ResponseWriter, r *http.Request, back *url.URL, params url.Values, state string) {
	u := *back
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	q.Set("iss", p.Issuer())
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// page is the error page a browser sees when the provider will not redirect.
func page(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "oauthfake: %s: %s\n", code, desc)
}

// validChallenge: an S256 challenge is base64url(SHA-256) without padding.
func validChallenge(s string) bool {
	return len(s) == 43 && strings.Trim(s, base64URLChars) == ""
}

// validVerifier follows RFC 7636 §4.1: 43 to 128 unreserved characters.
func validVerifier(s string) bool {
	return len(s) >= 43 && len(s) <= 128 && strings.Trim(s, base64URLChars+".~") == ""
}

const base64URLChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
