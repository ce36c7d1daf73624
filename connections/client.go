package connections

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/liaison/liaison/internal/traceparent"
)

// Do sends req through the connection named connectionID and returns the
// answer; the caller closes its body.
//
// With a connection, req.URL may be relative ("/contacts?x=1", "me"): it is
// appended to base_url's path. An absolute URL must name base_url's host or
// one of allowed_hosts, or the request is refused before anything is sent.
// Do adds the connection's credentials (a fresh OAuth access token, the
// bearer token or the API key), its fixed headers, User-Agent, and the
// traceparent of the request being served when ctx carries one
// (internal/traceparent) and req has none. When the target answers 401 to
// an OAuth token, the token is refreshed once (once per expiry across
// every process: docs/DESIGN.md, "Token lifecycle") and the request is
// sent once more if its body can be replayed (req.GetBody, or no body). A
// 401 to a static token or API key moves the connection to needs_reauth, unless
// the credential was replaced while the request was out: then the request
// is sent once more with the new one, on the same condition.
//
// connectionID "" sends to a public URL (webhook endpoints, public feeds)
// with no credentials, through the same guard.
//
// Errors:
//   - *PausedError (a *retry.Later, errors.Is ErrPaused): a person paused
//     the connection; nothing was sent. Postpone the work until it is
//     resumed (connection.resumed).
//   - *ReauthError (a *retry.Later, errors.Is ErrNeedsReauth): a person
//     must reconnect; nothing was sent, or the target refused a static
//     credential with 401. Postpone the work until the connection is
//     connected again.
//   - *RefusedError (errors.Is retry.ErrNever): refused before sending: a host
//     outside the allowed hosts (ErrHostNotAllowed), a blocked address
//     (ErrBlocked), a URL that is not http(s), an unknown connection
//     (ErrNotFound). Sending again cannot help.
//   - ErrTokenEndpoint: the token endpoint kept failing (timeout, 5xx);
//     the connection is unchanged; retry later.
//   - anything else is a network error or timeout of the request itself.
//
// Redirects: none for methods other than GET and HEAD (the 3xx answer is
// returned); GET follows at most 5, each dialed through the guard again,
// with credentials removed when the host changes. Timeouts: connect 5 s;
// the whole request (body included) ends at ctx's deadline when the caller
// set one (a hook's or a call's timeout_ms, an import's time_limit, longer
// or shorter than the default), and after Options.RequestTimeout, 30 s by
// default, when it did not.
func (s *Service) Do(ctx context.Context, connectionID string, req *http.Request) (*http.Response, error) {
	return s.do(ctx, connectionID, req, false)
}

// do is Do; evenPaused sends through a paused connection too (Test: a
// person checking it).
func (s *Service) do(ctx context.Context, connectionID string, req *http.Request, evenPaused bool) (*http.Response, error) {
	if connectionID == "" {
		return s.doPublic(ctx, req)
	}
	c, err := s.load(ctx, connectionID)
	if errors.Is(err, ErrNotFound) {
		return nil, &RefusedError{Reason: "connection " + connectionID + " does not exist", Err: ErrNotFound}
	}
	if err != nil {
		return nil, err
	}
	if !c.PausedAt.IsZero() && !evenPaused {
		return nil, &PausedError{ConnectionID: c.ID}
	}
	resp, err := s.doThrough(ctx, c, req)
	if resp != nil {
		s.used(ctx, c)
	}
	if resp != nil && resp.Request != nil {
		// Callers record where a request went; the request that went
		// carries the connection's credentials, which must not follow.
		sent := resp.Request.Clone(context.WithoutCancel(ctx))
		sent.Header = http.Header{}
		if c.AuthType == AuthAPIKey && c.APIKeyIn != APIKeyInHeader {
			sent.URL, _ = url.Parse(redactURL(sent.URL, c.APIKeyName))
		} else {
			sent.URL, _ = url.Parse(redactURL(sent.URL, ""))
		}
		resp.Request = sent
	}
	return resp, err
}

// doThrough is Do once the connection is loaded: send, and on a 401
// renew the credentials once and send again.
func (s *Service) doThrough(ctx context.Context, c *Connection, req *http.Request) (*http.Response, error) {
	// A resend needs a body to send again; each send takes a fresh one
	// (prepare), so the original is never consumed.
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for sent := 1; ; sent++ {
		resp, version, err := s.send(ctx, c, req)
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			return resp, err
		}
		var next *Connection
		if c.isOAuth() {
			if sent > 1 {
				return resp, nil // the refreshed token was refused too: that is the target's answer
			}
			// The token was refused (expired early, revoked): replace that
			// very version once, everywhere, and send again.
			next, err = s.renew(ctx, c.ID, version)
		} else {
			next, err = s.refusedStatic(ctx, c, resp.Request.URL.Host)
		}
		if err != nil {
			drain(resp.Body)
			return nil, err
		}
		if sent > 1 || !replayable {
			return resp, nil // the next attempt gets the new credentials
		}
		drain(resp.Body)
		c = next
	}
}

// send sends req once through c with c's credentials and fixed headers. It
// returns the token_version of the OAuth token it used.
func (s *Service) send(ctx context.Context, c *Connection, req *http.Request) (*http.Response, int64, error) {
	target, err := resolve(c, req.URL)
	if err != nil {
		return nil, 0, err
	}
	if err := allowedHost(c, target); err != nil {
		return nil, 0, err
	}
	out, err := s.prepare(ctx, req, target)
	if err != nil {
		return nil, 0, err
	}
	for k, v := range c.Headers {
		out.Header.Set(k, v)
	}
	version := c.TokenVersion
	switch c.AuthType {
	case AuthOAuth2Code, AuthOAuth2ClientCredentials:
		tok, v, err := s.accessToken(ctx, c, false)
		if err != nil {
			return nil, 0, err
		}
		version = v
		out.Header.Set("Authorization", "Bearer "+tok)
	case AuthBearer:
		out.Header.Set("Authorization", "Bearer "+c.StaticToken)
	case AuthAPIKey:
		if c.APIKeyIn == APIKeyInHeader {
			out.Header.Set(c.APIKeyName, c.APIKeyValue)
		} else {
			q := out.URL.Query()
			q.Set(c.APIKeyName, c.APIKeyValue)
			out.URL.RawQuery = q.Encode()
		}
	}
	resp, err := s.client(c, out).Do(out)
	if err != nil {
		return nil, 0, s.sendError(c, out, err)
	}
	return resp, version, nil
}

// refusedStatic handles a 401 to c's static token or API key: the
// connection needs a person (*ReauthError), unless the credential was
// replaced while the request was out; then the connection as it is now is
// returned, to send again with the new credential.
func (s *Service) refusedStatic(ctx context.Context, c *Connection, host string) (*Connection, error) {
	reason := fmt.Sprintf("%s answered 401 Unauthorized to the connection's %s", host, map[string]string{AuthBearer: "token", AuthAPIKey: "API key"}[c.AuthType])
	needs, err := s.markNeedsReauth(ctx, c, reason)
	if err != nil {
		return nil, err
	}
	if needs {
		return nil, &ReauthError{ConnectionID: c.ID, Reason: reason}
	}
	nc, err := s.load(ctx, c.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, &RefusedError{Reason: "connection " + c.ID + " does not exist", Err: ErrNotFound}
	}
	return nc, err
}

func (s *Service) doPublic(ctx context.Context, req *http.Request) (*http.Response, error) {
	if req.URL == nil || !req.URL.IsAbs() {
		return nil, &RefusedError{Reason: "a request without a connection needs an absolute URL", Err: ErrHostNotAllowed}
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil, &RefusedError{URL: redactURL(req.URL, ""), Reason: fmt.Sprintf("scheme %q is not http or https", req.URL.Scheme), Err: ErrHostNotAllowed}
	}
	out, err := s.prepare(ctx, req, req.URL)
	if err != nil {
		return nil, err
	}
	resp, err := s.client(nil, out).Do(out)
	if err != nil {
		return nil, s.sendError(nil, out, err)
	}
	return resp, nil
}

// prepare copies req for sending to target: the caller's request is never
// changed, and a resend gets a fresh body.
func (s *Service) prepare(ctx context.Context, req *http.Request, target *url.URL) (*http.Request, error) {
	out := req.Clone(ctx)
	u := *target
	out.URL = &u
	out.Host = ""
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("reading the request body again: %w", err)
		}
		out.Body = body
	}
	if out.Header == nil {
		out.Header = http.Header{}
	}
	out.Header.Set("User-Agent", s.userAgent())
	// The trace of the request being served, unless the caller set one.
	if tp := traceparent.From(ctx); tp != "" && out.Header.Get(traceparent.Header) == "" {
		out.Header.Set(traceparent.Header, tp)
	}
	return out, nil
}

func (s *Service) userAgent() string { return "liaison/" + s.opts.Version }

// client is an http.Client for one request: the shared guarded transport,
// the redirect rules, and the whole-request timeout unless the request's
// context has a deadline of its own (an http.Client's Timeout would cut a
// longer one short).
func (s *Service) client(c *Connection, req *http.Request) *http.Client {
	base := CheckRedirect(5)
	timeout := s.opts.RequestTimeout
	if _, ok := req.Context().Deadline(); ok {
		timeout = 0
	}
	return &http.Client{
		Transport: s.base,
		Timeout:   timeout,
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if err := base(r, via); err != nil {
				return err
			}
			// CheckRedirect removes Authorization and cookies when the
			// origin changes (scheme, host or port); an API key, in a
			// header of its own name or in the query (a redirect may
			// repeat the query), must go too.
			if c == nil || c.AuthType != AuthAPIKey || sameOrigin(r.URL, via[0].URL) {
				return nil
			}
			if c.APIKeyIn == APIKeyInHeader {
				r.Header.Del(c.APIKeyName)
			} else if q := r.URL.Query(); q.Has(c.APIKeyName) {
				q.Del(c.APIKeyName)
				r.URL.RawQuery = q.Encode()
			}
			return nil
		},
	}
}

// sendError turns a send failure into what callers classify by: refusals
// by the guard are RefusedErrors; URLs in errors lose their credentials.
func (s *Service) sendError(c *Connection, req *http.Request, err error) error {
	secretParam := ""
	if c != nil && c.AuthType == AuthAPIKey && c.APIKeyIn == APIKeyInQuery {
		secretParam = c.APIKeyName
	}
	if ue, ok := err.(*url.Error); ok {
		if u, perr := url.Parse(ue.URL); perr == nil {
			ue.URL = redactURL(u, secretParam)
		}
	}
	if errors.Is(err, ErrBlocked) {
		return &RefusedError{URL: redactURL(req.URL, secretParam), Reason: blockedReason(err), Err: err}
	}
	return err
}

func blockedReason(err error) string {
	var be *BlockedError
	if errors.As(err, &be) {
		return be.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

// redactURL drops user info and the API key parameter from a URL shown in
// an error or a log line.
func redactURL(u *url.URL, secretParam string) string {
	if u == nil {
		return ""
	}
	v := *u
	v.User = nil
	if secretParam != "" {
		q := v.Query()
		if q.Has(secretParam) {
			q.Set(secretParam, "REDACTED")
			v.RawQuery = q.Encode()
		}
	}
	return v.String()
}

// redactErr strips credentials from the URL a *url.Error carries.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			ue.URL = redactURL(u, "")
		}
	}
	return err
}

// resolve makes the request URL absolute: a relative URL is appended to
// base_url's path ("/me" on https://api.example.com/v2 is
// https://api.example.com/v2/me), keeping its own query.
func resolve(c *Connection, u *url.URL) (*url.URL, error) {
	base, err := url.Parse(c.BaseURL)
	if err != nil {
		return nil, &RefusedError{Reason: "the connection's base_url does not parse", Err: err}
	}
	if u == nil {
		return base, nil
	}
	if u.IsAbs() || u.Host != "" {
		v := *u
		if v.Scheme == "" {
			v.Scheme = base.Scheme
		}
		if v.Scheme != "http" && v.Scheme != "https" {
			return nil, &RefusedError{URL: redactURL(&v, ""), Reason: fmt.Sprintf("scheme %q is not http or https", v.Scheme), Err: ErrHostNotAllowed}
		}
		return &v, nil
	}
	v := *base
	rel := u.EscapedPath()
	if rel != "" {
		joined := strings.TrimSuffix(base.EscapedPath(), "/") + "/" + strings.TrimPrefix(rel, "/")
		p, err := url.PathUnescape(joined)
		if err != nil {
			return nil, &RefusedError{Reason: "the request path is not a valid URL path", Err: err}
		}
		v.Path, v.RawPath = p, joined
		if v.EscapedPath() != joined {
			v.RawPath = ""
		}
	}
	if u.RawQuery != "" {
		v.RawQuery = u.RawQuery
	}
	v.Fragment = ""
	return &v, nil
}

// allowedHost refuses a target outside base_url's host and allowed_hosts.
func allowedHost(c *Connection, target *url.URL) error {
	base, _ := url.Parse(c.BaseURL)
	host, port := strings.ToLower(target.Hostname()), target.Port()
	if port == "" {
		port = defaultPort(target.Scheme)
	}
	// An entry without a port allows its host on any port.
	match := func(pattern string) bool {
		ph, pp := strings.ToLower(pattern), ""
		if h, p, err := net.SplitHostPort(ph); err == nil {
			ph, pp = h, p
		}
		ph = strings.Trim(ph, "[]")
		if pp != "" && pp != port {
			return false
		}
		if sub, ok := strings.CutPrefix(ph, "*."); ok {
			return strings.HasSuffix(host, "."+sub)
		}
		return host == ph
	}
	if base != nil && base.Host != "" {
		bp := base.Port()
		if bp == "" {
			bp = defaultPort(base.Scheme)
		}
		if strings.EqualFold(base.Hostname(), host) && bp == port {
			return nil
		}
	}
	for _, h := range c.AllowedHosts {
		if match(h) {
			return nil
		}
	}
	return &RefusedError{
		URL:    redactURL(target, ""),
		Reason: fmt.Sprintf("host %s is not this connection's (%s) nor one of its allowed_hosts; its credentials are only sent there", target.Host, base.Host),
		Err:    ErrHostNotAllowed,
	}
}

func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}

// drain reads a little of a body before closing it so the connection can
// be reused.
func drain(rc io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, rc, 4096)
	rc.Close()
}
