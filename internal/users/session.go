package users

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/liaison/liaison/internal/id"
)

// ErrBadCredentials means the email or the password is wrong, or the user
// may not sign in; which one is nobody's business.
var ErrBadCredentials = errors.New("users: wrong email or password")

// ErrNoSession means the cookie opens no session: unknown, wrong secret,
// idle or too old, signed out, or its user disabled.
var ErrNoSession = errors.New("users: no session")

// ErrDisabled means the user is disabled: no session starts for it.
var ErrDisabled = errors.New("users: this user is disabled")

// Session is a signed-in browser.
type Session struct {
	ID     string
	UserID string
	// Cookie is "<id>.<secret>", set only in the answer of SignIn and
	// StartSession: it is never stored, only the secret's SHA-256 is.
	Cookie string
	// CSRF is the session's form token, HMAC-SHA256(secret, "csrf"): only
	// who holds the cookie can know it.
	CSRF       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end; the idle one is LastSeenAt plus
	// Options.SessionIdle.
	ExpiresAt time.Time
}

// ValidCSRF reports whether token is the session's form token, compared
// in constant time.
func (ss Session) ValidCSRF(token string) bool {
	return ss.CSRF != "" && hmac.Equal([]byte(token), []byte(ss.CSRF))
}

// newSecret is 32 random bytes in base64url.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sha(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func csrf(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// StartSession signs the user in without a password: after the setup or
// the redemption of a link has just proved who it is. Like SignIn, it
// records the user's LastSignInAt.
func (s *Service) StartSession(ctx context.Context, userID string) (Session, error) {
	return s.startSession(ctx, s.db, userID)
}

func (s *Service) startSession(ctx context.Context, q execer, userID string) (Session, error) {
	secret := newSecret()
	now := s.now()
	ss := Session{ID: id.New("ses"), UserID: userID, CSRF: csrf(secret), CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.o.SessionLifetime)}
	ss.Cookie = ss.ID + "." + secret
	res, err := q.ExecContext(ctx, `INSERT INTO user_sessions (id, user_id, secret_hash, created_at, last_seen_at, expires_at)
		SELECT $1, id, $2, $3, $4, $5 FROM users WHERE id = $6 AND disabled = $7`,
		ss.ID, sha(secret), now, now, ss.ExpiresAt, userID, false)
	if err != nil {
		return Session{}, fmt.Errorf("users: starting session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, _, err := s.get(ctx, q, userID, ""); err != nil {
			return Session{}, err
		}
		return Session{}, ErrDisabled
	}
	// A session started after a link was redeemed is a sign-in too.
	if _, err := q.ExecContext(ctx, `UPDATE users SET last_sign_in_at = $1 WHERE id = $2`, now, userID); err != nil {
		return Session{}, fmt.Errorf("users: recording sign-in: %w", err)
	}
	return ss, nil
}

// parseCookie splits "<id>.<secret>".
func parseCookie(cookie string) (sid, secret string, ok bool) {
	sid, secret, ok = strings.Cut(cookie, ".")
	return sid, secret, ok && sid != "" && len(secret) == 43
}

// Authenticate returns the user and session a cookie opens, or
// ErrNoSession. It slides the session's LastSeenAt, writing it at most
// once a minute.
func (s *Service) Authenticate(ctx context.Context, cookie string) (User, Session, error) {
	sid, secret, ok := parseCookie(cookie)
	if !ok {
		return User{}, Session{}, ErrNoSession
	}
	ss := Session{ID: sid}
	var hash []byte
	// One query for the session and its user: Authenticate runs on every
	// request of the UI.
	u, _, err := scan(s.db.QueryRowContext(ctx, `SELECT `+columns+`, s.secret_hash, s.created_at, s.last_seen_at, s.expires_at
		FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`, sid), &hash, &ss.CreatedAt, &ss.LastSeenAt, &ss.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, Session{}, ErrNoSession
	}
	if err != nil {
		return User{}, Session{}, fmt.Errorf("users: reading session: %w", err)
	}
	if subtle.ConstantTimeCompare(hash, sha(secret)) != 1 {
		return User{}, Session{}, ErrNoSession
	}
	ss.UserID = u.ID
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.LastSeenAt.UTC(), ss.ExpiresAt.UTC()
	now := s.now()
	if !now.Before(ss.ExpiresAt) || !now.Before(ss.LastSeenAt.Add(s.o.SessionIdle)) {
		// Over: the row goes, so that it is not read again.
		_, _ = s.db.ExecContext(ctx, `DELETE FROM user_sessions WHERE id = $1`, sid)
		return User{}, Session{}, ErrNoSession
	}
	if u.Disabled {
		return User{}, Session{}, ErrNoSession
	}
	if now.Sub(ss.LastSeenAt) >= seenEvery {
		if _, err := s.db.ExecContext(ctx, `UPDATE user_sessions SET last_seen_at = $1 WHERE id = $2`, now, sid); err != nil {
			return User{}, Session{}, fmt.Errorf("users: touching session: %w", err)
		}
		ss.LastSeenAt = now
	}
	ss.CSRF = csrf(secret)
	return u, ss, nil
}

// SignOut ends the session the cookie opens; an unknown one is no error.
func (s *Service) SignOut(ctx context.Context, cookie string) error {
	sid, secret, ok := parseCookie(cookie)
	if !ok {
		return nil
	}
	// The secret must match: who knows only an id cannot end a session.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM user_sessions WHERE id = $1 AND secret_hash = $2`, sid, sha(secret)); err != nil {
		return fmt.Errorf("users: signing out: %w", err)
	}
	return nil
}

// SignIn checks an email and a password and starts a new session: never
// an old one, so that a cookie planted before sign-in does not become
// signed in. from is the address the attempt comes from (the client's IP),
// for throttling.
// Errors: *ThrottledError (the password is not even checked),
// ErrBadCredentials.
func (s *Service) SignIn(ctx context.Context, email, password, from string) (User, Session, error) {
	email = NormalizeEmail(email)
	// The account's key is last: a success clears it. With no address
	// (the UI always has one) only the account counts, rather than every
	// such attempt sharing one count that anyone could fill.
	keys := []string{"account:" + email}
	if from != "" {
		keys = []string{"address:" + from, keys[0]}
	}
	if wait, err := s.throttled(ctx, keys); err != nil {
		return User{}, Session{}, err
	} else if wait > 0 {
		return User{}, Session{}, &ThrottledError{RetryAfter: wait}
	}
	u, hash, err := scan(s.db.QueryRowContext(ctx, `SELECT `+columns+` FROM users u WHERE u.email = $1`, email))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return User{}, Session{}, fmt.Errorf("users: reading user: %w", err)
	}
	// An unknown email, or a user without a password, costs a comparison
	// all the same: how long sign-in takes must not tell who exists.
	ok := err == nil && hash != ""
	if !ok {
		dummy, err := s.dummyHash()
		if err != nil {
			return User{}, Session{}, err
		}
		hash = string(dummy)
	}
	if s.compare([]byte(hash), []byte(password)) != nil || !ok {
		if err := s.failed(ctx, keys); err != nil {
			return User{}, Session{}, err
		}
		return User{}, Session{}, ErrBadCredentials
	}
	if u.Disabled {
		return User{}, Session{}, ErrBadCredentials
	}
	if err := s.succeeded(ctx, keys[len(keys)-1]); err != nil {
		return User{}, Session{}, err
	}
	ss, err := s.StartSession(ctx, u.ID)
	if err != nil {
		return User{}, Session{}, err
	}
	u.LastSignInAt = &ss.CreatedAt
	return u, ss, nil
}
