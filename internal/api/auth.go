package api

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/liaison/liaison/internal/access"
)

type tokenKey struct{}

// caller returns the access token that authenticated the request.
func caller(ctx context.Context) access.Token {
	t, _ := ctx.Value(tokenKey{}).(access.Token)
	return t
}

// guard wraps a route with what every request to it must pass: public
// routes pass as they are; every other route needs a valid access token
// that carries the route's scope.
func (s *Server) guard(rt route) http.Handler {
	if rt.Public {
		return rt.Handler
	}
	if rt.Scope == "" {
		panic("api: route " + rt.Pattern + " has neither a scope nor Public")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := s.authenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !tok.Has(rt.Scope) {
			p := problem(http.StatusForbidden, "this access token lacks the scope "+rt.Scope+", which "+rt.Pattern+" needs")
			p.Type = "https://liaison.dev/problems/insufficient-scope"
			p.Header = http.Header{"Www-Authenticate": {`Bearer realm="liaison", error="insufficient_scope", scope="` + rt.Scope + `"`}}
			s.fail(w, r, p)
			return
		}
		rt.Handler(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok)))
	})
}

// authenticate checks the bearer token. Failures from one address are
// limited: past the limit a failing request gets 429 with Retry-After,
// while a valid token from the same address still passes.
func (s *Server) authenticate(r *http.Request) (access.Token, error) {
	secret, ok := bearer(r)
	if !ok {
		p := problem(http.StatusUnauthorized, "an access token is required: send Authorization: Bearer <token>")
		p.Header = http.Header{"Www-Authenticate": {`Bearer realm="liaison"`}}
		return access.Token{}, p
	}
	tok, err := s.Tokens.Authenticate(r.Context(), secret)
	if err == nil {
		return tok, nil
	}
	if !errors.Is(err, access.ErrInvalidSecret) {
		return access.Token{}, err
	}
	if wait, limited := s.authFailures.fail(clientIP(r)); limited {
		p := problem(http.StatusTooManyRequests, "too many failed authentications from this address; try again later")
		p.RetryAfter = int(math.Ceil(wait.Seconds()))
		return access.Token{}, p
	}
	p := problem(http.StatusUnauthorized, "the access token is not valid: it is unknown, deleted, or rotated out")
	p.Header = http.Header{"Www-Authenticate": {`Bearer realm="liaison", error="invalid_token"`}}
	return access.Token{}, p
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// clientIP is the address failures are counted against: the IPv4
// address, or the /64 of an IPv6 one, since a single host commonly holds a
// whole /64 and could otherwise step around the limit.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
	return addr.String()
}

// failureLimiter allows each address a burst of failed authentications and
// then one per interval. It lives in the process: each web process limits
// what reaches it, which is what protects it.
type failureLimiter struct {
	mu      sync.Mutex
	every   time.Duration
	burst   int
	byIP    map[string]*rate.Limiter
	touched map[string]time.Time
}

func newFailureLimiter(every time.Duration, burst int) *failureLimiter {
	return &failureLimiter{every: every, burst: burst, byIP: map[string]*rate.Limiter{}, touched: map[string]time.Time{}}
}

// fail records a failure from ip and reports whether ip is over its limit
// and how long until it may fail again.
func (l *failureLimiter) fail(ip string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.byIP) > 50_000 {
		// Forget addresses that have been quiet long enough to be full again.
		for k, t := range l.touched {
			if now.Sub(t) > l.every*time.Duration(l.burst) {
				delete(l.byIP, k)
				delete(l.touched, k)
			}
		}
	}
	lim, ok := l.byIP[ip]
	if !ok {
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.byIP[ip] = lim
	}
	l.touched[ip] = now
	if lim.AllowN(now, 1) {
		return 0, false
	}
	res := lim.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	res.CancelAt(now)
	return max(wait, time.Second), true
}
