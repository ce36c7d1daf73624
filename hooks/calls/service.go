package calls

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/liaison/liaison/internal/invalid"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/send"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/secret"
)

// Connections tells calls what they need of a connection before they send
// through it: whether it exists, and the rate (requests per second) and
// concurrency limits set on it, 0 for unlimited. connections.Service
// satisfies it, in plain types so that neither package imports the other.
type Connections interface {
	Limits(ctx context.Context, connectionID string) (ratePerSecond float64, maxConcurrency int, found bool, err error)
}

// Queue puts calls on the task queue. jobs.Client satisfies it; calls never
// imports asynq. A call has its id as task id, so enqueuing one that is
// already queued does nothing.
type Queue interface {
	// EnqueueCalls queues calls to run now; those already queued are left
	// as they are.
	EnqueueCalls(ctx context.Context, ids []string) error
	// RunCallsNow makes queued calls that wait (a retry, a postponement)
	// run now, and queues those that are not queued.
	RunCallsNow(ctx context.Context, ids []string) error
}

// Callbacks is the delivery engine as a call's callback needs it: the
// result of an ended call is an ordinary signed delivery to the callback
// URL, stored in the call's last transaction. hooks.Service satisfies it,
// and asks this package where the callback goes (CallbackTarget).
type Callbacks interface {
	AddCallback(ctx context.Context, tx *sql.Tx, c hooks.Callback) error
	QueueCallback(ctx context.Context, deliveryID string) error
	CallbackStatus(ctx context.Context, deliveryID string) (string, error)
	RemoveCallbacks(ctx context.Context, tx *sql.Tx, callIDs []string) error
}

var _ Callbacks = (*hooks.Service)(nil)

// Defaults of Options, applied by New to the fields left zero. The retry
// schedule is DefaultSchedule.
const (
	// DefaultRetention is Options.Retention (CALL_RETENTION).
	DefaultRetention = 24 * time.Hour
	// DefaultTargetConcurrency is a quarter of a worker's default slots
	// (jobs.DefaultConcurrency 50; a test in jobs keeps it so): a
	// connection that hangs can hold no more than that.
	DefaultTargetConcurrency = 12
)

// Options configure a Service. DB, Redis, Ring, Sender, Connections, Queue,
// Callbacks and Breakers are required.
type Options struct {
	DB *db.DB
	// Redis carries the connections' limits (shared by every worker
	// process) and the word that a call ended (wait.go).
	Redis redis.UniversalClient
	// Ring seals a call's headers and callback secret at rest.
	Ring        *secret.Ring
	Sender      send.Sender
	Connections Connections
	Queue       Queue
	Callbacks   Callbacks
	// Breakers are the circuit breakers of connections, shared with the
	// deliveries of their hooks (hooks.Service.Breakers).
	Breakers *send.Breakers
	// Log gets structured lines; never a secret. Default: discard.
	Log *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand returns values in [0, 1) for the schedule's jitter. Default
	// math/rand/v2.
	Rand func() float64

	// Schedule is the schedule of API-call nodes and of their callbacks
	// (CALL_SCHEDULE). Default DefaultSchedule().
	Schedule hooks.Schedule
	// Retention is how long a call that ended is kept, with its attempts
	// and its callback (CALL_RETENTION). Default DefaultRetention, 24 h.
	Retention time.Duration
	// RequestTimeout bounds one attempt unless a call sets its own.
	// Default hooks.DefaultRequestTimeout, 30 s.
	RequestTimeout time.Duration
	// RetryAfterMax is the most a Retry-After answer can push the next
	// attempt back. Default hooks.DefaultRetryAfterMax, 24 h.
	RetryAfterMax time.Duration
	// ReauthRecheck is how long a call whose connection needs
	// reauthorization waits before it looks again (reconnecting also wakes
	// it at once, ResumeConnection). Default hooks.DefaultReauthRecheck, 30 s.
	ReauthRecheck time.Duration
	// TargetConcurrency is the most calls one connection may have under way
	// at once in this process (send/share.go). Default
	// DefaultTargetConcurrency.
	TargetConcurrency int

	// ObserveAttempt, if set, is told of every attempt of a call: the kind
	// "call", the outcome (send.Outcome's String) and how long the request
	// took. Postponements (no attempt was made) are not told.
	ObserveAttempt func(targetKind, outcome string, took time.Duration)
}

// withDefaults fills what is unset; validate has refused what is negative.
func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.Schedule) == 0 {
		o.Schedule = DefaultSchedule()
	}
	o.Retention = cmp.Or(o.Retention, DefaultRetention)
	o.RequestTimeout = cmp.Or(o.RequestTimeout, hooks.DefaultRequestTimeout)
	o.RetryAfterMax = cmp.Or(o.RetryAfterMax, hooks.DefaultRetryAfterMax)
	o.ReauthRecheck = cmp.Or(o.ReauthRecheck, hooks.DefaultReauthRecheck)
	o.TargetConcurrency = cmp.Or(o.TargetConcurrency, DefaultTargetConcurrency)
	return o
}

// validate checks what is set: the required parts, and no negative
// duration or count (zero means the default).
func (o Options) validate() error {
	if err := invalid.Required("calls",
		invalid.Need("DB", o.DB != nil), invalid.Need("Redis", o.Redis != nil),
		invalid.Need("Ring", o.Ring != nil), invalid.Need("Sender", o.Sender != nil),
		invalid.Need("Connections", o.Connections != nil), invalid.Need("Queue", o.Queue != nil),
		invalid.Need("Callbacks", o.Callbacks != nil), invalid.Need("Breakers", o.Breakers != nil),
	); err != nil {
		return err
	}
	if err := invalid.NotNegative("calls", []invalid.Setting[time.Duration]{
		invalid.Named("Retention", o.Retention), invalid.Named("RequestTimeout", o.RequestTimeout),
		invalid.Named("RetryAfterMax", o.RetryAfterMax), invalid.Named("ReauthRecheck", o.ReauthRecheck),
	}); err != nil {
		return err
	}
	if o.TargetConcurrency < 0 {
		return fmt.Errorf("calls: Options.TargetConcurrency is negative (%d); 0 means the default", o.TargetConcurrency)
	}
	return nil
}

// Service is API calls: Create, Get, Wait, Run, Sweep and Clean. It is
// safe for concurrent use, and any number of web and worker processes can
// run it side by side.
type Service struct {
	// Targets serve the delivery engine (CallbackTarget, ResumeConnection).
	*Targets
	opts    Options
	limiter *send.Limiter
	// share bounds what one connection has under way in this process.
	share *send.Share
	// waiters are the requests of this process waiting for calls to end.
	waiters callWaiters
}

// New builds the service.
func New(opts Options) (*Service, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Service{Targets: &Targets{opts: opts}, opts: opts, limiter: send.NewLimiter(opts.Redis),
		share: send.NewShare(opts.TargetConcurrency)}, nil
}

// Targets are API calls as the delivery engine needs them: where a call's
// callback goes (hooks.CallbackTargets) and waking the calls that wait for
// a connection (hooks.Resumer). The engine is built before the calls
// Service, which stores its callbacks through it and shares its circuit
// breakers; Targets need neither, so they are built first and handed to
// the engine (sweep.go).
type Targets struct{ opts Options }

// NewTargets builds the Targets of a Service to be built with the same
// options. Of the parts they need DB, Ring and Queue; Callbacks and
// Breakers may be unset.
func NewTargets(opts Options) (*Targets, error) {
	err := invalid.Required("calls targets", invalid.Need("DB", opts.DB != nil), invalid.Need("Ring", opts.Ring != nil),
		invalid.Need("Queue", opts.Queue != nil))
	if err != nil {
		return nil, err
	}
	return &Targets{opts: opts.withDefaults()}, nil
}

// Close ends this process's subscription to ended calls, if any.
func (s *Service) Close() { s.waiters.close() }

// Sentinel errors; the API maps them onto statuses. Their words are those
// the answers have always carried.
var (
	// ErrNotFound: no call with that id.
	ErrNotFound = errors.New("hooks: not found")
	// ErrIdempotencyConflict: a call with the same idempotency key was made
	// with a different request.
	ErrIdempotencyConflict = errors.New("hooks: idempotency key reused with a different request")
)

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func notFound(id string) error { return fmt.Errorf("%w: call %s", ErrNotFound, id) }

// DefaultSchedule is for API-call nodes (Options.Schedule, CALL_SCHEDULE):
// seven attempts over about 53 minutes, because a scenario step waiting on
// the result is worth little a day later. Each call returns a fresh slice.
func DefaultSchedule() hooks.Schedule {
	return hooks.Schedule{0, 5 * time.Second, 30 * time.Second, 2 * time.Minute,
		5 * time.Minute, 15 * time.Minute, 30 * time.Minute}
}
