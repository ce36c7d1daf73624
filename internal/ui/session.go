package ui

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/liaison/liaison/internal/users"
)

// CookieName is the session cookie: "<id>.<secret>" (internal/users).
const CookieName = "liaison_session"

// signedInKey is the context key of the request's signed-in person.
type signedInKey struct{}

// signedInUser is who a request's session belongs to.
type signedInUser struct {
	User    users.User
	Session users.Session
}

// current is the signed-in person of r, if any: set by h.signedIn, and by
// h.public when the cookie opens a session.
func current(r *http.Request) (signedInUser, bool) {
	s, ok := r.Context().Value(signedInKey{}).(signedInUser)
	return s, ok
}

// authenticate reads the session cookie with users.Authenticate. Only the
// cookie counts: an Authorization header never opens the UI.
func (h *Handler) authenticate(r *http.Request) (*http.Request, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return r, nil
	}
	u, ss, err := h.o.Users.Authenticate(r.Context(), c.Value)
	if errors.Is(err, users.ErrNoSession) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	return r.WithContext(context.WithValue(r.Context(), signedInKey{}, signedInUser{User: u, Session: ss})), nil
}

// public serves a screen anyone may open (sign-in, the one-time links);
// the person is still known when a session is open.
func (h *Handler) public(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, err := h.authenticate(r)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		next(w, r)
	})
}

// signedIn serves a screen for signed-in people: without a session, a
// 303 to /signin?next=<this path>. A state-changing request must carry
// the session's form token (csrf.go).
func (h *Handler) signedIn(next http.HandlerFunc) http.Handler {
	return h.public(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := current(r); !ok {
			to := "/signin"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				to += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if !h.validCSRF(r) {
			h.forbidden(w, r)
			return
		}
		next(w, r)
	})
}

// admin serves a screen for admins only; others get the 403 page.
func (h *Handler) admin(next http.HandlerFunc) http.Handler {
	return h.signedIn(func(w http.ResponseWriter, r *http.Request) {
		if s, _ := current(r); !s.User.IsAdmin() {
			h.forbidden(w, r)
			return
		}
		next(w, r)
	})
}

// integrations serves a screen for people with the right to manage
// private integrations; others get the 403 page.
func (h *Handler) integrations(next http.HandlerFunc) http.Handler {
	return h.signedIn(func(w http.ResponseWriter, r *http.Request) {
		if s, _ := current(r); !s.User.ManagesIntegrations {
			h.forbidden(w, r)
			return
		}
		next(w, r)
	})
}

// startSession sets the cookie of a session just started (sign-in, setup,
// a redeemed link) and ends the one the browser had, if any: a cookie from
// before is never carried over.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, ss users.Session) {
	if old, err := r.Cookie(CookieName); err == nil && old.Value != "" {
		if err := h.o.Users.SignOut(r.Context(), old.Value); err != nil {
			h.o.Log.WarnContext(r.Context(), "ending the session from before sign-in", "error", err)
		}
	}
	http.SetCookie(w, h.cookie(ss.Cookie, int(ss.ExpiresAt.Sub(ss.CreatedAt).Seconds())))
}

// clearSession tells the browser to forget the session cookie.
func (h *Handler) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, h.cookie("", -1))
}

func (h *Handler) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: h.secure}
}

// nextPath is where to go after signing in: the next parameter when it is
// a path on this site, else /connections. "//host", "/\host" and anything
// with a scheme or host are refused.
func nextPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || u.Scheme != "" || u.Host != "" || strings.ContainsAny(next, "\r\n\t") {
		return "/connections"
	}
	return next
}

// clientAddress is the address a sign-in comes from, for throttling.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
