package hooks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/liaison/liaison/internal/invalid"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liaison/liaison/hooks/send"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/secret"
)

// Sender sends a request through a connection, or to a public URL when
// connectionID is "", through the outbound guard. connections.Service
// satisfies it; hooks never imports connections. The answer's Request is
// the request last sent (after redirects) with its credentials removed, so
// its URL can be recorded.
//
// Errors that mean "a person must reconnect first" are a *retry.Later
// (internal/retry); errors that no retry can fix (a host outside the
// connection's allowed hosts, a blocked address) are retry.ErrNever.
type Sender interface {
	Do(ctx context.Context, connectionID string, req *http.Request) (*http.Response, error)
}

// Connections tells the engine the rate (requests per second) and
// concurrency limits set on a connection, 0 for unlimited, which hold for
// everything sent through it; found is false when there is no such
// connection. connections.Service satisfies it, in plain types so that
// neither package imports the other.
type Connections interface {
	Limits(ctx context.Context, connectionID string) (ratePerSecond float64, maxConcurrency int, found bool, err error)
}

// Queue puts deliveries on the task queue. jobs.Client satisfies it; hooks
// never imports asynq. A delivery queued alone has its id as task id, so
// enqueuing one that is already queued does nothing. The first attempts of new deliveries travel in batches
// (DeliverFirst), each batch a task whose id is its batch id.
type Queue interface {
	// EnqueueDeliveries queues deliveries to run now, each alone. Ids
	// already queued alone (waiting, running or scheduled for a retry) are
	// left as they are.
	EnqueueDeliveries(ctx context.Context, ids []string) error
	// EnqueueBatch queues the first attempts of new deliveries together,
	// as one task with the id batch; a batch already queued (waiting,
	// running or to run again) is left as it is.
	EnqueueBatch(ctx context.Context, batch string, ids []string) error
	// RunDeliveriesNow makes queued deliveries that wait (a retry, a
	// postponement) run now, and queues those that are not queued.
	RunDeliveriesNow(ctx context.Context, ids []string) error
}

// CallbackTargets tell the engine where a callback delivery goes: a
// delivery of an event to a URL that its owner keeps, signed per Standard
// Webhooks with a secret the owner keeps too, on the owner's schedule. The
// owner stores it with AddCallback. found is false when the owner is gone.
type CallbackTargets interface {
	CallbackTarget(ctx context.Context, ownerID string) (_ CallbackTarget, found bool, _ error)
}

// CallbackTarget is where a callback delivery goes and how it is signed.
type CallbackTarget struct {
	URL string
	// Secret is the whsec_ secret the receiver verifies the signature with.
	Secret   string
	Schedule Schedule
}

// Resumer is told that a connection can be used again (it connected, its
// circuit closed), to wake the work other than deliveries that waits for it.
type Resumer interface {
	ResumeConnection(ctx context.Context, connectionID string) error
}

// Defaults of Options, applied by New to the fields left zero. The retry
// schedule is DefaultSchedule (schedule.go).
const (
	// DefaultRotationOverlap is Options.RotationOverlap (WEBHOOK_ROTATION_OVERLAP).
	DefaultRotationOverlap = 24 * time.Hour
	// DefaultDisableAfter is Options.DisableAfter (WEBHOOK_DISABLE_AFTER): 5 days.
	DefaultDisableAfter = 120 * time.Hour
	// DefaultRetention is Options.Retention (DELIVERY_RETENTION): 30 days.
	DefaultRetention = 720 * time.Hour
	// DefaultRequestTimeout is Options.RequestTimeout.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultRetryAfterMax is Options.RetryAfterMax: the longest step of
	// DefaultSchedule.
	DefaultRetryAfterMax = 24 * time.Hour
	// DefaultReauthRecheck is Options.ReauthRecheck.
	DefaultReauthRecheck = 30 * time.Second
	// DefaultTargetCacheTTL is Options.TargetCacheTTL.
	DefaultTargetCacheTTL = 10 * time.Second
	// DefaultTargetConcurrency is a quarter of a worker's default delivery
	// slots (jobs.DefaultDeliveryConcurrency 200; a test in jobs keeps it
	// so): a target that hangs can hold no more than that.
	DefaultTargetConcurrency = 50
	// DefaultCircuitFailures, DefaultCircuitCooldown and
	// DefaultCircuitCooldownMax are Options.CircuitFailures,
	// CircuitCooldown and CircuitCooldownMax.
	DefaultCircuitFailures    = 5
	DefaultCircuitCooldown    = 30 * time.Second
	DefaultCircuitCooldownMax = 10 * time.Minute
)

// Options configure a Service. DB, Redis, Ring, Sender and Queue are required.
type Options struct {
	DB *db.DB
	// Redis carries the per-target rate and concurrency limits (shared by
	// every worker process) and the generation counter of the target list.
	Redis redis.UniversalClient
	// Ring seals webhook secrets at rest.
	Ring   *secret.Ring
	Sender Sender
	Queue  Queue
	// Connections gives the limits of the connections hooks send through.
	// Default: Sender, when it satisfies Connections (connections.Service
	// does); without it, a connection's limits are not enforced.
	Connections Connections
	// Callbacks resolve the targets of callback deliveries (the calls
	// package's); without it a callback delivery fails, its owner unknown.
	Callbacks CallbackTargets
	// Resumer, if set, is told when a connection can be used again, after
	// its waiting deliveries are woken.
	Resumer Resumer
	// Intake, if set, is the intake NewIntake built from these options
	// (with Resumer, before Sender existed); default: New builds one.
	Intake *Intake
	// Log gets structured lines; never a secret. Default: discard.
	Log *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand returns values in [0, 1) for the schedule's jitter. Default
	// math/rand/v2.
	Rand func() float64

	// Schedule is the retry schedule of action hooks and event webhooks
	// (DELIVERY_SCHEDULE). Default DefaultSchedule().
	Schedule Schedule
	// RotationOverlap is how long the previous webhook secret keeps signing
	// after a rotation (WEBHOOK_ROTATION_OVERLAP). Default
	// DefaultRotationOverlap, 24 h.
	RotationOverlap time.Duration
	// DisableAfter disables a webhook endpoint whose attempts have all
	// failed for this long (WEBHOOK_DISABLE_AFTER). Default
	// DefaultDisableAfter, 120 h (5 days).
	DisableAfter time.Duration
	// Retention is how long finished deliveries, their attempts and their
	// events are kept (DELIVERY_RETENTION). Default DefaultRetention, 720 h
	// (30 days).
	Retention time.Duration
	// RequestTimeout bounds one attempt unless a hook sets its own.
	// Default DefaultRequestTimeout, 30 s.
	RequestTimeout time.Duration
	// RetryAfterMax is the most a Retry-After answer can push the next
	// attempt back. Default DefaultRetryAfterMax, 24 h.
	RetryAfterMax time.Duration
	// ReauthRecheck is how long a delivery whose connection needs
	// reauthorization waits before it looks again (reconnecting also wakes
	// it at once, see Record). Default DefaultReauthRecheck, 30 s.
	ReauthRecheck time.Duration
	// TargetCacheTTL bounds how long intake trusts its cached list of
	// targets when the change counter in Redis says nothing changed.
	// Default DefaultTargetCacheTTL, 10 s.
	TargetCacheTTL time.Duration

	// TargetConcurrency is the most requests one target (a webhook
	// endpoint, a hook without a connection, a connection) may have under
	// way at once in this process's deliveries, so that a slow one cannot
	// take every slot (share.go). Default DefaultTargetConcurrency.
	TargetConcurrency int
	// CircuitFailures is how many attempts in a row to one target may get
	// no answer (a timeout, a failed connection) before its circuit opens
	// (circuit.go). Default DefaultCircuitFailures, 5.
	CircuitFailures int
	// CircuitCooldown is how long an open circuit sends nothing before a
	// probe, doubled at each opening in a row up to CircuitCooldownMax.
	// Defaults DefaultCircuitCooldown and DefaultCircuitCooldownMax, 30 s
	// and 10 min.
	CircuitCooldown, CircuitCooldownMax time.Duration

	// ObserveAttempt, if set, is told of every outbound attempt: the
	// target's kind (hook, webhook, or callback for a callback delivery),
	// the outcome (send.Outcome's String) and how long the request took.
	// Metrics count with it; hooks never imports them. Postponements (no
	// attempt was made) are not told.
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
	if o.Connections == nil {
		o.Connections, _ = o.Sender.(Connections)
	}
	o.RotationOverlap = cmp.Or(o.RotationOverlap, DefaultRotationOverlap)
	o.DisableAfter = cmp.Or(o.DisableAfter, DefaultDisableAfter)
	o.Retention = cmp.Or(o.Retention, DefaultRetention)
	o.RequestTimeout = cmp.Or(o.RequestTimeout, DefaultRequestTimeout)
	o.RetryAfterMax = cmp.Or(o.RetryAfterMax, DefaultRetryAfterMax)
	o.ReauthRecheck = cmp.Or(o.ReauthRecheck, DefaultReauthRecheck)
	o.TargetCacheTTL = cmp.Or(o.TargetCacheTTL, DefaultTargetCacheTTL)
	o.TargetConcurrency = cmp.Or(o.TargetConcurrency, DefaultTargetConcurrency)
	o.CircuitFailures = cmp.Or(o.CircuitFailures, DefaultCircuitFailures)
	o.CircuitCooldown = cmp.Or(o.CircuitCooldown, DefaultCircuitCooldown)
	o.CircuitCooldownMax = max(cmp.Or(o.CircuitCooldownMax, DefaultCircuitCooldownMax), o.CircuitCooldown)
	return o
}

// validate checks what is set: the required parts, and the settings.
func (o Options) validate() error {
	if err := invalid.Required("hooks",
		invalid.Need("DB", o.DB != nil), invalid.Need("Redis", o.Redis != nil),
		invalid.Need("Ring", o.Ring != nil), invalid.Need("Sender", o.Sender != nil),
		invalid.Need("Queue", o.Queue != nil),
	); err != nil {
		return err
	}
	return o.validateSettings()
}

// validateSettings refuses a negative duration or count (zero means the
// default).
func (o Options) validateSettings() error {
	if err := invalid.NotNegative("hooks", []invalid.Setting[time.Duration]{
		invalid.Named("RotationOverlap", o.RotationOverlap), invalid.Named("DisableAfter", o.DisableAfter),
		invalid.Named("Retention", o.Retention),
		invalid.Named("RequestTimeout", o.RequestTimeout), invalid.Named("RetryAfterMax", o.RetryAfterMax),
		invalid.Named("ReauthRecheck", o.ReauthRecheck), invalid.Named("TargetCacheTTL", o.TargetCacheTTL),
		invalid.Named("CircuitCooldown", o.CircuitCooldown), invalid.Named("CircuitCooldownMax", o.CircuitCooldownMax),
	}); err != nil {
		return err
	}
	if err := invalid.NotNegative("hooks", []invalid.Setting[int]{
		invalid.Named("TargetConcurrency", o.TargetConcurrency),
		invalid.Named("CircuitFailures", o.CircuitFailures),
	}); err != nil {
		return err
	}
	return nil
}

// Service is events in and deliveries out: intake, the hook and webhook
// stores, the delivery engine, callbacks, replay and retention. It is safe for
// concurrent use; what it caches (the target list, compiled templates,
// signers) is checked against the database, so any number of web and
// worker processes can run it side by side.
type Service struct {
	// Intake stores events with their deliveries and records Liaison's
	// own (intake.go, ownevents.go); it was built first when something
	// else records through it (Options.Intake).
	*Intake
	opts    Options
	limiter *send.Limiter
	// deliveryShare bounds what one target has under way in this process
	// (send/share.go).
	deliveryShare *send.Share
	// breakers keep the targets' circuits (send/circuit.go).
	breakers *send.Breakers
	// compiled caches per-target state that is costly to build (a compiled
	// template, a signer with its opened secrets), keyed by target id and
	// checked against the target's version on every use.
	compiled sync.Map // id → *compiledHook | *compiledWebhook
	// recorder writes the attempts of this process's deliveries, many
	// per commit when many end together (record.go).
	recorder batcher[*attemptRecord, struct{}]
	// loader reads the deliveries of runs that start together in one
	// query (engine.go).
	loader batcher[string, *loaded]
}

// Intake is events in: it stores events with one delivery per matching
// target and queues them (Ingest), records Liaison's own events (Record)
// and wakes what waits for a connection (ResumeConnection). It sends
// nothing, so it needs no Sender: the connections service, which the
// engine sends through and which reports connection.needs_reauth, takes
// it as its EventRecorder, built before either. The Service it is handed
// to (Options.Intake) serves the same methods.
type Intake struct {
	opts    Options
	targets targetCache
	// intake stores the events of requests that arrive together in one
	// transaction (intake.go).
	intake batcher[intakeCall, []Accepted]
}

// NewIntake builds the intake of a Service to be built with the same
// options, for what must record events before the Service exists. Of the
// parts it needs DB, Redis and Queue (and uses Resumer); Sender may be
// unset.
func NewIntake(opts Options) (*Intake, error) {
	if err := invalid.Required("hooks intake",
		invalid.Need("DB", opts.DB != nil), invalid.Need("Redis", opts.Redis != nil),
		invalid.Need("Queue", opts.Queue != nil),
	); err != nil {
		return nil, err
	}
	if err := opts.validateSettings(); err != nil {
		return nil, err
	}
	return &Intake{opts: opts.withDefaults()}, nil
}

// New builds the service, on Options.Intake or on an intake of its own.
func New(opts Options) (*Service, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	in := opts.Intake
	if in == nil {
		in = &Intake{opts: opts}
	}
	s := &Service{Intake: in, opts: opts, limiter: send.NewLimiter(opts.Redis),
		deliveryShare: send.NewShare(opts.TargetConcurrency)}
	s.breakers = &send.Breakers{DB: opts.DB, Now: s.now, Log: opts.Log, Failures: opts.CircuitFailures,
		Cooldown: opts.CircuitCooldown, CooldownMax: opts.CircuitCooldownMax, Opened: s.circuitOpened, Closed: s.circuitClosed}
	return s, nil
}

// Breakers are the circuit breakers of the targets hooks send to. Whatever
// else sends through a connection uses these, so that an opening is told
// once and a closing wakes the connection's deliveries (and, through
// Options.Resumer, the rest).
func (s *Service) Breakers() *send.Breakers { return s.breakers }

// Sentinel errors; the API maps them onto statuses.
var (
	// ErrNotFound: no hook, webhook, event or delivery with that id.
	ErrNotFound = errors.New("hooks: not found")
	// ErrConflict: the request does not fit the current state (retrying a
	// delivery that is still running).
	ErrConflict = errors.New("hooks: conflict")
)

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func (s *Intake) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func notFound(what, id string) error { return fmt.Errorf("%w: %s %s", ErrNotFound, what, id) }
