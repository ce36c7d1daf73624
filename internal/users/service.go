package users

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/invalid"
)

// Defaults of Options, each applied when its field is zero.
const (
	// DefaultSessionIdle ends a session nobody has used for this long: a
	// working day and a night's margin, so a person who comes back the next
	// morning signs in again.
	DefaultSessionIdle = 12 * time.Hour
	// DefaultSessionLifetime ends a session this long after sign-in,
	// however busy it is.
	DefaultSessionLifetime = 7 * 24 * time.Hour
	// DefaultLinkLifetime is how long an invitation or a reset link works.
	DefaultLinkLifetime = 72 * time.Hour
	// DefaultSetupLinkLifetime is how long the first admin's setup link works.
	DefaultSetupLinkLifetime = 24 * time.Hour
	// DefaultThrottleFailures failed sign-ins within DefaultThrottleWindow,
	// from one address or for one account, slow the next ones down.
	DefaultThrottleFailures = 5
	DefaultThrottleWindow   = 15 * time.Minute
	// DefaultThrottleWait is the first wait once throttled; it doubles with
	// every further failure, up to DefaultThrottleMaxWait.
	DefaultThrottleWait    = time.Minute
	DefaultThrottleMaxWait = time.Hour
	// DefaultBcryptCost is bcrypt's own default.
	DefaultBcryptCost = bcrypt.DefaultCost
)

// Limits on a password: bcrypt reads at most 72 bytes, so a longer one
// would be cut silently; it is refused instead.
const (
	MinPasswordLength = 10
	MaxPasswordBytes  = 72
	MaxEmailLength    = 254
)

// seenEvery bounds the writes of a session's last_seen_at: at most one a
// minute, whatever the traffic, which is far finer than the idle lifetime.
const seenEvery = time.Minute

// Options configure a Service. Only DB is required.
type Options struct {
	DB *db.DB
	// Now is the clock (tests move it); default time.Now.
	Now func() time.Time
	// BcryptCost hashes new passwords; default DefaultBcryptCost. Tests
	// lower it to bcrypt.MinCost.
	BcryptCost int
	// SessionIdle and SessionLifetime: DefaultSessionIdle,
	// DefaultSessionLifetime.
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	// LinkLifetime (invite, reset) and SetupLinkLifetime: DefaultLinkLifetime,
	// DefaultSetupLinkLifetime.
	LinkLifetime      time.Duration
	SetupLinkLifetime time.Duration
	// Sign-in throttling: DefaultThrottleFailures, DefaultThrottleWindow,
	// DefaultThrottleWait, DefaultThrottleMaxWait.
	ThrottleFailures int
	ThrottleWindow   time.Duration
	ThrottleWait     time.Duration
	ThrottleMaxWait  time.Duration
}

func (o Options) validate() error {
	if err := invalid.Required("users", invalid.Need("DB", o.DB != nil)); err != nil {
		return err
	}
	if err := invalid.NotNegative("users", []invalid.Setting[int]{
		invalid.Named("BcryptCost", o.BcryptCost), invalid.Named("ThrottleFailures", o.ThrottleFailures),
	}); err != nil {
		return err
	}
	if o.BcryptCost != 0 && (o.BcryptCost < bcrypt.MinCost || o.BcryptCost > bcrypt.MaxCost) {
		return fmt.Errorf("users: Options.BcryptCost is %d; it must be between %d and %d", o.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	return invalid.NotNegative("users", []invalid.Setting[time.Duration]{
		invalid.Named("SessionIdle", o.SessionIdle), invalid.Named("SessionLifetime", o.SessionLifetime),
		invalid.Named("LinkLifetime", o.LinkLifetime), invalid.Named("SetupLinkLifetime", o.SetupLinkLifetime),
		invalid.Named("ThrottleWindow", o.ThrottleWindow), invalid.Named("ThrottleWait", o.ThrottleWait),
		invalid.Named("ThrottleMaxWait", o.ThrottleMaxWait),
	})
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	o.BcryptCost = cmp.Or(o.BcryptCost, DefaultBcryptCost)
	o.SessionIdle = cmp.Or(o.SessionIdle, DefaultSessionIdle)
	o.SessionLifetime = cmp.Or(o.SessionLifetime, DefaultSessionLifetime)
	o.LinkLifetime = cmp.Or(o.LinkLifetime, DefaultLinkLifetime)
	o.SetupLinkLifetime = cmp.Or(o.SetupLinkLifetime, DefaultSetupLinkLifetime)
	o.ThrottleFailures = cmp.Or(o.ThrottleFailures, DefaultThrottleFailures)
	o.ThrottleWindow = cmp.Or(o.ThrottleWindow, DefaultThrottleWindow)
	o.ThrottleWait = cmp.Or(o.ThrottleWait, DefaultThrottleWait)
	o.ThrottleMaxWait = cmp.Or(o.ThrottleMaxWait, DefaultThrottleMaxWait)
	return o
}

// Service is users, their sessions and their one-time links.
type Service struct {
	db *db.DB
	o  Options
	// dummyHash is compared against when no password hash is at hand (an
	// unknown email, an invited user), so that sign-in costs the same
	// either way. Made at the first need, so that New costs no hashing
	// in processes and tests that never sign anyone in; that first
	// sign-in of a process pays for it, once.
	dummyHash func() ([]byte, error)
	// compare is bcrypt.CompareHashAndPassword (a test counts its calls).
	compare func(hash, password []byte) error
}

// New builds a Service.
func New(o Options) (*Service, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	dummy := sync.OnceValues(func() ([]byte, error) {
		h, err := bcrypt.GenerateFromPassword([]byte("not a password anyone has"), o.BcryptCost)
		if err != nil {
			return nil, fmt.Errorf("users: hashing the dummy password: %w", err)
		}
		return h, nil
	})
	return &Service{db: o.DB, o: o, dummyHash: dummy, compare: bcrypt.CompareHashAndPassword}, nil
}

// Close releases nothing today; it is there so that internal/app closes
// the service in order like the others.
func (s *Service) Close() {}

func (s *Service) now() time.Time { return s.o.Now().UTC().Truncate(time.Microsecond) }

// Sweep deletes what can no longer be used: sessions past their idle or
// absolute lifetime, links expired or used more than a day ago (kept that
// long to tell a person the link was used), and sign-in failures whose
// window has closed. Authenticate and Link refuse all of these anyway;
// Sweep only keeps the tables small.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	for _, q := range []struct {
		what, query string
		args        []any
	}{
		{"sessions", `DELETE FROM user_sessions WHERE expires_at <= $1 OR last_seen_at <= $2`, []any{now, now.Add(-s.o.SessionIdle)}},
		{"links", `DELETE FROM user_links WHERE expires_at <= $1 OR used_at <= $2`, []any{now, now.Add(-24 * time.Hour)}},
		{"sign-in failures", `DELETE FROM sign_in_failures WHERE window_ends_at <= $1`, []any{now}},
	} {
		if _, err := s.db.ExecContext(ctx, q.query, q.args...); err != nil {
			return fmt.Errorf("users: sweeping %s: %w", q.what, err)
		}
	}
	return nil
}
