package oauthfake

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// resource is a protected API (RFC 6750): any method on any path under
// /api/. A refused token is not a violation: clients learn about expiry and
// revocation exactly this way (the Creatio guide: "a new token when a call
// answers 401").
func (p *Provider) resource(w http.ResponseWriter, r *http.Request) {
	scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || value == "" {
		// No credentials at all: a bare challenge (RFC 6750 §3.1).
		w.Header().Set("WWW-Authenticate", `Bearer realm="oauthfake"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
		return
	}

	p.mu.Lock()
	at := p.access[value]
	why := p.liveLocked(at)
	var sub, clientID, scope string
	if why == "" {
		sub, clientID, scope = at.grant.Subject, at.grant.ClientID, strings.Join(at.scopes, " ")
	}
	p.mu.Unlock()

	if why != "" {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="oauthfake", error="invalid_token", error_description=%q`, why))
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": why})
		return
	}
	p.mu.Lock()
	custom := p.served[r.URL.Path]
	p.mu.Unlock()
	if custom != nil {
		custom.ServeHTTP(w, r)
		return
	}
	if r.URL.Path == "/api/me" {
		writeJSON(w, http.StatusOK, map[string]string{"sub": sub, "client_id": clientID, "scope": scope})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "reading body: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, Echo{
		Method:  r.Method,
		Path:    r.URL.Path,
		Query:   r.URL.Query(),
		Headers: r.Header,
		Body:    string(body),
	})
}

// Echo is what the resource answers on paths other than /api/me: the
// request as it arrived, so a test can see headers and body Liaison sent.
type Echo struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   map[string][]string `json:"query"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
}

// Serve puts a handler behind the provider's bearer-token check at path
// (under /api/), e.g. a protected product feed; only requests with a live
// access token reach it.
func (p *Provider) Serve(path string, h http.HandlerFunc) {
	if !strings.HasPrefix(path, "/api/") {
		panic("oauthfake: Serve paths start with /api/")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.served == nil {
		p.served = map[string]http.Handler{}
	}
	p.served[path] = h
}
