package connections

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/liaison/liaison/internal/invalid"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/retry"
	"github.com/liaison/liaison/internal/secret"
)

// Options configure a Service. DB, Redis and Ring are required.
type Options struct {
	// DB holds connections, authorization states and system events.
	DB *db.DB
	// Redis carries the per-connection refresh lock shared by every process.
	Redis redis.UniversalClient
	// Ring seals secrets at rest.
	Ring *secret.Ring
	// AllowedCIDRs open address ranges the outbound guard refuses by default
	// (ALLOWED_CIDRS; tests add loopback, and liaison dev when ALLOWED_CIDRS is unset).
	AllowedCIDRs []netip.Prefix
	// RedirectURI is the OAuth redirect URI (config.Config.RedirectURI).
	RedirectURI string
	// Log gets structured lines; never a secret. Default: discard.
	Log *slog.Logger
	// Events records Liaison's own events (connection.needs_reauth,
	// connection.connected, connection.paused, connection.resumed).
	// Default: none recorded.
	Events EventRecorder
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Version goes into User-Agent: liaison/<version>. Default
	// DefaultVersion, "dev".
	Version string
	// RequestTimeout bounds a whole outbound request, body included, whose
	// context has no deadline; a caller's deadline, longer or shorter,
	// replaces it. Default DefaultRequestTimeout, 30 s.
	RequestTimeout time.Duration
	// TokenTimeout bounds one request to a token endpoint. Default
	// DefaultTokenTimeout, 10 s.
	TokenTimeout time.Duration
	// TokenRetries is how many times a transient token-endpoint failure
	// (timeout, 5xx, 429) is retried, with exponential backoff from
	// TokenBackoff. Default DefaultTokenRetries (3) retries from
	// DefaultTokenBackoff (250 ms); a negative TokenRetries means none. A
	// refresh_token request is retried only when the provider certainly did
	// not act on it (dial errors, 408, 429, 503); see fetchWithRetry.
	TokenRetries int
	TokenBackoff time.Duration
	// Skew: a token that expires within it is refreshed before use.
	// Default DefaultSkew, 60 s (capped at half the token's lifetime).
	Skew time.Duration
	// SweepWindow: Sweep refreshes tokens that expire within it. Default
	// DefaultSweepWindow, 10 min.
	SweepWindow time.Duration
	// StateTTL is how long an authorization (the state parameter) can be
	// completed. Default DefaultStateTTL, 10 min.
	StateTTL time.Duration

	// ObserveRefresh, if set, is told the result of every refresh that
	// went to a token endpoint: "ok"; "invalid_grant" when the provider
	// refused the grant or the client (the connection needs a person); or
	// "error" for a failure that may pass (retries included, one refresh
	// is told once). Metrics count with it; connections never imports them.
	ObserveRefresh func(result string)
}

// Defaults of Options, applied by New to the fields left zero.
const (
	DefaultVersion        = "dev"
	DefaultRequestTimeout = 30 * time.Second
	DefaultTokenTimeout   = 10 * time.Second
	DefaultTokenRetries   = 3
	DefaultTokenBackoff   = 250 * time.Millisecond
	DefaultSkew           = 60 * time.Second
	DefaultSweepWindow    = 10 * time.Minute
	DefaultStateTTL       = 10 * time.Minute
)

// withDefaults fills what is unset; validate has refused what is negative
// (but TokenRetries, where a negative value means no retry).
func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Version = cmp.Or(o.Version, DefaultVersion)
	o.RequestTimeout = cmp.Or(o.RequestTimeout, DefaultRequestTimeout)
	o.TokenTimeout = cmp.Or(o.TokenTimeout, DefaultTokenTimeout)
	o.TokenRetries = max(cmp.Or(o.TokenRetries, DefaultTokenRetries), 0)
	o.TokenBackoff = cmp.Or(o.TokenBackoff, DefaultTokenBackoff)
	o.Skew = cmp.Or(o.Skew, DefaultSkew)
	o.SweepWindow = cmp.Or(o.SweepWindow, DefaultSweepWindow)
	o.StateTTL = cmp.Or(o.StateTTL, DefaultStateTTL)
	return o
}

// validate checks what is set: the required parts, and no negative
// duration (zero means the default).
func (o Options) validate() error {
	if err := invalid.Required("connections",
		invalid.Need("DB", o.DB != nil), invalid.Need("Redis", o.Redis != nil),
		invalid.Need("Ring", o.Ring != nil),
	); err != nil {
		return err
	}
	if err := invalid.NotNegative("connections", []invalid.Setting[time.Duration]{
		invalid.Named("RequestTimeout", o.RequestTimeout), invalid.Named("TokenTimeout", o.TokenTimeout), invalid.Named("TokenBackoff", o.TokenBackoff),
		invalid.Named("Skew", o.Skew), invalid.Named("SweepWindow", o.SweepWindow), invalid.Named("StateTTL", o.StateTTL),
	}); err != nil {
		return err
	}
	return nil
}

// Service is connections: their store, OAuth flows, token lifecycle and
// the outbound client. It is safe for concurrent use and holds no state
// that other processes would need: tokens live in the database, the refresh
// lock in Redis.
type Service struct {
	opts   Options
	guard  *Guard
	base   *http.Transport
	flight singleflight.Group
	// refreshBudget bounds one whole refresh (every retry included); the
	// Redis lock outlives it, so a holder gives up before its lock expires
	// and no second process can start while the first still waits.
	refreshBudget time.Duration
	lockTTL       time.Duration
}

// New builds the service.
func New(opts Options) (*Service, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	g := NewGuard(opts.AllowedCIDRs)
	s := &Service{opts: opts, guard: g, base: g.Transport()}
	backoff := time.Duration(0)
	step := opts.TokenBackoff
	for range opts.TokenRetries {
		backoff += step
		step *= 2
	}
	s.refreshBudget = time.Duration(opts.TokenRetries+1)*opts.TokenTimeout + backoff + 2*time.Second
	s.lockTTL = s.refreshBudget + 15*time.Second
	return s, nil
}

// Close releases idle outbound connections.
func (s *Service) Close() { s.base.CloseIdleConnections() }

// Sender is the method set other packages declare to send through
// connections without importing this package (hooks, importer):
//
//	type Sender interface {
//		Do(ctx context.Context, connectionID string, req *http.Request) (*http.Response, error)
//	}
type Sender interface {
	Do(ctx context.Context, connectionID string, req *http.Request) (*http.Response, error)
}

var _ Sender = (*Service)(nil)

// Sentinel errors.
var (
	// ErrNotFound: no connection with that id.
	ErrNotFound = errors.New("connections: connection not found")
	// ErrNeedsReauth: the connection must be reconnected by a person before
	// it can be used; errors that wrap it are also a *retry.Later.
	ErrNeedsReauth = errors.New("connections: connection needs reauthorization")
	// ErrHostNotAllowed: a request named a host outside the connection's
	// base URL host and allowed hosts; nothing was sent.
	ErrHostNotAllowed = errors.New("connections: host not allowed for this connection")
	// ErrTokenEndpoint: the token endpoint failed in a way that may pass
	// (timeout, 5xx, 429) after every retry; the connection's state is unchanged.
	ErrTokenEndpoint = errors.New("connections: token endpoint unavailable")
	// ErrWrongType: the operation does not apply to this auth type
	// (authorize a bearer connection, refresh an API key).
	ErrWrongType = errors.New("connections: not possible for this auth type")
)

// ReauthError says a connection needs a person to reconnect it. Work that
// gets it should be postponed until the connection is connected again, not
// failed: for packages that do not import connections it is a *retry.Later
// (errors.As), with no wait of its own; and errors.Is(err, ErrNeedsReauth).
type ReauthError struct {
	ConnectionID string
	// Reason is what the provider (or the target) said, for display.
	Reason string
}

func (e *ReauthError) Error() string {
	return fmt.Sprintf("connection %s needs to be reconnected: %s", e.ConnectionID, e.Reason)
}

// As makes errors.As(err, &later) true for a *retry.Later: the work waits
// for a person, and the one who waits decides when it looks again (After
// is zero; connection.connected wakes it sooner).
func (e *ReauthError) As(target any) bool {
	if l, ok := target.(**retry.Later); ok {
		*l = &retry.Later{Reason: e.Error()}
		return true
	}
	return false
}

// Is makes errors.Is(err, ErrNeedsReauth) true.
func (e *ReauthError) Is(target error) bool { return target == ErrNeedsReauth }

// RefusedError says a request was refused before anything was sent (a host
// outside the connection's allowed hosts, a blocked address, a URL that is
// not http(s), a connection that does not exist). Sending it again cannot
// succeed: errors.Is(err, retry.ErrNever).
type RefusedError struct {
	URL    string // redacted: no credentials in it
	Reason string
	Err    error
}

func (e *RefusedError) Error() string {
	if e.URL == "" {
		return "request refused: " + e.Reason
	}
	return fmt.Sprintf("request to %s refused: %s", e.URL, e.Reason)
}

// Unwrap gives ErrHostNotAllowed, ErrBlocked (*BlockedError), ErrNotFound…
func (e *RefusedError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, retry.ErrNever) true: retrying cannot help.
func (e *RefusedError) Is(target error) bool { return target == retry.ErrNever }

// EventRecorder records Liaison's own events (connection.needs_reauth,
// connection.connected, connection.paused, connection.resumed).
// The delivery engine implements it to deliver them to webhooks; until it
// does, StoreEvents keeps them in the system_events table.
type EventRecorder interface {
	Record(ctx context.Context, eventType string, data map[string]any) error
}

// EventNeedsReauth is recorded when a connection moves to needs_reauth.
// Its data: connection_id, name, auth_type, reason.
const EventNeedsReauth = "connection.needs_reauth"

// EventConnected is recorded when a connection becomes connected from
// pending or needs_reauth: an authorization completed at the callback, a
// new static token or API key, a first client-credentials token. The
// delivery engine resumes the work that waited for the connection at once.
// Its data: connection_id, name, auth_type.
const EventConnected = "connection.connected"

// connected records EventConnected for c, which was in state from and is
// connected now.
func (s *Service) connected(ctx context.Context, c *Connection, from string) {
	if from == StatusConnected {
		return
	}
	s.opts.Log.InfoContext(ctx, "connection connected", "connection_id", c.ID, "from", from)
	s.record(ctx, EventConnected, map[string]any{"connection_id": c.ID, "name": c.Name, "auth_type": c.AuthType})
}

func (s *Service) record(ctx context.Context, eventType string, data map[string]any) {
	if s.opts.Events == nil {
		return
	}
	if err := s.opts.Events.Record(context.WithoutCancel(ctx), eventType, data); err != nil {
		s.opts.Log.ErrorContext(ctx, "recording event", "event_type", eventType, "error", err)
	}
}
