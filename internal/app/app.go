package app

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/liaison/liaison/config"
	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/metrics"
	"github.com/liaison/liaison/internal/secret"
	"github.com/liaison/liaison/internal/users"
	"github.com/liaison/liaison/jobs"
)

// Processes, as Options.Process names them.
const (
	ProcessDev       = "dev"
	ProcessServe     = "serve"
	ProcessWorker    = "worker"
	ProcessScheduler = "scheduler"
)

// Options say what to build the application from.
type Options struct {
	Config config.Config
	// Process is the process the application runs as: dev alone may run on
	// the embedded Redis, make a key file beside a PostgreSQL database, and
	// open loopback when ALLOWED_CIDRS is unset; the scheduler opens no
	// database connections ahead of time.
	Process string
	Log     *slog.Logger
	Version string

	// DB, Redis and Ring, when set, are used instead of what the Config
	// names, and are not closed by the application (tests hand in a schema
	// and a Redis database of their own). DB must be migrated.
	DB    *db.DB
	Redis *jobs.Redis
	Ring  *secret.Ring

	// Connections, Hooks and Calls adjust the options of the connections
	// service, of the delivery engine and of API calls before they are
	// built (tests scale the retry schedules to milliseconds). Hooks and
	// Calls may be called more than once, each time on a fresh copy of
	// the same options, the last time with every part in: they must only
	// adjust what they are given.
	Connections func(*connections.Options)
	Hooks       func(*hooks.Options)
	Calls       func(*calls.Options)
	// Users adjusts the users service's options (tests lower the bcrypt
	// cost).
	Users func(*users.Options)
}

// App is the application's parts.
type App struct {
	Config  config.Config
	Log     *slog.Logger
	Version string

	DB     *db.DB
	Redis  *jobs.Redis
	Jobs   *jobs.Client
	Tokens *access.Store
	// Connections is the connections service and the outbound client.
	Connections *connections.Service
	// Hooks is events in and deliveries out.
	Hooks *hooks.Service
	// Calls is API calls, sent through the connections, their callbacks
	// delivered by Hooks.
	Calls   *calls.Service
	Imports *importer.Store
	Runner  *importer.Runner
	// Metrics is what GET /metrics serves; the domain packages count into
	// it through their Observe callbacks.
	Metrics *metrics.Metrics
	// Users is the web UI's people and their sessions.
	Users *users.Service

	closers []func()
}

// SetupError is a configuration the application cannot run with (the
// binary exits 2 on it).
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// Open builds the application. On an error, what was opened is closed.
func Open(ctx context.Context, o Options) (_ *App, err error) {
	start := time.Now()
	a := &App{Config: o.Config, Log: o.Log, Version: o.Version}
	if a.Log == nil {
		a.Log = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	cfg := o.Config
	if o.Redis == nil && cfg.RedisURL == "" && o.Process != ProcessDev {
		return nil, &SetupError{errors.New("REDIS_URL is required: separate web, worker and scheduler processes must share one Redis (liaison dev runs all three on an embedded one)")}
	}
	ring := o.Ring
	if ring == nil {
		if ring, err = a.keyRing(o.Process); err != nil {
			return nil, err
		}
	}
	if a.DB = o.DB; a.DB == nil {
		if a.DB, err = a.openDB(ctx); err != nil {
			return nil, err
		}
		if o.Process != ProcessScheduler {
			// The first requests and deliveries find their connections open.
			if err := a.DB.Warm(ctx, db.WarmConnections); err != nil {
				a.Log.Warn("opening database connections ahead of time", "error", err)
			}
		}
	}
	if a.Redis = o.Redis; a.Redis == nil {
		if a.Redis, err = jobs.OpenRedis(ctx, cfg.RedisURL, a.Log); err != nil {
			return nil, err
		}
		r := a.Redis
		a.onClose(func() { r.Close() })
	}
	a.Jobs = jobs.NewClient(a.Redis)
	a.onClose(func() { a.Jobs.Close() })
	a.Metrics = metrics.New(a.Log.With("component", "metrics"))
	a.Metrics.WatchDatabase(a.DB)

	// The parts need each other at run time: the engine sends through the
	// connections service, which reports connection.needs_reauth as an
	// event the engine delivers; the engine asks API calls where their
	// callbacks go and wakes them with their connection, and calls store
	// their callbacks through the engine and share its circuits. The
	// halves that need nothing built later come first, each handed in
	// through its constructor: calls.Targets (the calls as the engine sees
	// them), then hooks.Intake (events in, which sends nothing), then the
	// connections service, the engine and API calls.
	//
	// Options.Hooks and Options.Calls adjust a fresh copy of the settings
	// each time: once for the parts built first, once more for the options
	// New gets, with every part in (a test that keeps them can build
	// another engine or calls service from them).
	hset := a.hookSettings(ring)
	ho := tuned(hset, o.Hooks)
	targets, err := calls.NewTargets(tuned(a.callSettings(ho), o.Calls))
	if err != nil {
		return nil, err
	}
	// What else waits for a connection: API calls and import runs.
	resume := resumers{targets, importer.Waker{DB: a.DB, Queue: a.Jobs}}
	ho.Callbacks, ho.Resumer = targets, resume
	intake, err := hooks.NewIntake(ho)
	if err != nil {
		return nil, err
	}
	co := connections.Options{
		DB: a.DB, Redis: a.Redis.UniversalClient, Ring: ring, AllowedCIDRs: a.allowedCIDRs(o.Process),
		RedirectURI: cfg.RedirectURI(), Log: a.Log.With("component", "connections"), Version: o.Version,
		Events: intake, ObserveRefresh: a.Metrics.ObserveRefresh,
	}
	if o.Connections != nil {
		o.Connections(&co)
	}
	if a.Connections, err = connections.New(co); err != nil {
		return nil, err
	}
	a.onClose(a.Connections.Close)
	hset.Sender, hset.Connections, hset.Callbacks, hset.Resumer, hset.Intake = a.Connections, a.Connections, targets, resume, intake
	if a.Hooks, err = hooks.New(tuned(hset, o.Hooks)); err != nil {
		return nil, err
	}
	cset := a.callSettings(ho)
	cset.Sender, cset.Connections, cset.Callbacks, cset.Breakers = a.Connections, a.Connections, a.Hooks, a.Hooks.Breakers()
	if a.Calls, err = calls.New(tuned(cset, o.Calls)); err != nil {
		return nil, err
	}
	a.onClose(a.Calls.Close)

	// Headers stored before they were sealed (migration 0009) are sealed by
	// the first process that starts with the keys.
	if err := a.Connections.SealStoredHeaders(ctx); err != nil {
		return nil, err
	}
	if err := a.Hooks.SealStoredHeaders(ctx); err != nil {
		return nil, err
	}
	if err := a.Calls.SealStoredHeaders(ctx); err != nil {
		return nil, err
	}
	if a.Imports, err = importer.NewStore(importer.StoreOptions{DB: a.DB, Events: a.Hooks, ObserveRun: a.Metrics.ObserveRun}); err != nil {
		return nil, err
	}
	if a.Runner, err = importer.NewRunner(importer.RunnerOptions{Store: a.Imports, Sender: a.Connections, Log: a.Log.With("component", "importer")}); err != nil {
		return nil, err
	}
	if a.Tokens, err = access.New(access.Options{DB: a.DB, RotationOverlap: cfg.TokenRotationOverlap}); err != nil {
		return nil, err
	}
	if a.Users, err = users.New(tuned(users.Options{DB: a.DB}, o.Users)); err != nil {
		return nil, err
	}
	a.onClose(a.Users.Close)
	a.Log.Debug("opened database and redis", "took", time.Since(start).Round(time.Millisecond).String())
	return a, nil
}

// hookSettings are the delivery engine's options from the configuration,
// with the parts that exist before it. One target may hold a quarter of a
// worker's slots (hooks/send/share.go); unset, the engine's default is a
// quarter of the worker's default.
func (a *App) hookSettings(ring *secret.Ring) hooks.Options {
	cfg := a.Config
	return hooks.Options{
		DB: a.DB, Redis: a.Redis.UniversalClient, Ring: ring, Queue: a.Jobs,
		Log:               a.Log.With("component", "hooks"),
		Schedule:          hooks.Schedule(cfg.DeliverySchedule),
		RotationOverlap:   cfg.WebhookRotationOverlap,
		DisableAfter:      cfg.WebhookDisableAfter,
		Retention:         cfg.DeliveryRetention,
		TargetConcurrency: quarterOf(cfg.DeliveryConcurrency),
		ObserveAttempt:    a.Metrics.ObserveAttempt,
	}
}

// callSettings are the options of API calls from the configuration, on
// the engine's database, Redis and ring. A call's attempts go through the
// same connections, limits and circuits as its connection's hooks; what
// the engine's options ho set for every request (timeouts, Retry-After,
// reauthorization, the clock) holds for calls too, and a connection may
// hold a quarter of a worker's slots.
func (a *App) callSettings(ho hooks.Options) calls.Options {
	return calls.Options{
		DB: ho.DB, Redis: ho.Redis, Ring: ho.Ring, Queue: a.Jobs,
		Log:            a.Log.With("component", "calls"),
		Schedule:       hooks.Schedule(a.Config.CallSchedule),
		Retention:      a.Config.CallRetention,
		RequestTimeout: ho.RequestTimeout, RetryAfterMax: ho.RetryAfterMax, ReauthRecheck: ho.ReauthRecheck,
		Now: ho.Now, Rand: ho.Rand,
		TargetConcurrency: quarterOf(a.Config.WorkerConcurrency),
		ObserveAttempt:    a.Metrics.ObserveAttempt,
	}
}

// quarterOf is a quarter of a worker's n slots, at least 1; 0 (the
// package's default) when n is unset.
func quarterOf(n int) int {
	if n <= 0 {
		return 0
	}
	return max(1, n/4)
}

// resumers tells each of its parts that a connection can be used again
// (hooks.Resumer), every one of them even when one fails.
type resumers []hooks.Resumer

func (rs resumers) ResumeConnection(ctx context.Context, connectionID string) error {
	var errs []error
	for _, r := range rs {
		errs = append(errs, r.ResumeConnection(ctx, connectionID))
	}
	return errors.Join(errs...)
}

// tuned is a copy of base adjusted by tune, if any.
func tuned[T any](base T, tune func(*T)) T {
	if tune != nil {
		tune(&base)
	}
	return base
}

// Close closes what Open opened, in reverse order.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

func (a *App) onClose(f func()) { a.closers = append(a.closers, f) }

// APIDeps are the API's parts.
func (a *App) APIDeps() api.Deps {
	return api.Deps{Log: a.Log, DB: a.DB, Redis: a.Redis, Jobs: a.Jobs, Tokens: a.Tokens, Connections: a.Connections,
		Imports: a.Imports, Hooks: a.Hooks, Calls: a.Calls, MaxBodyBytes: a.Config.MaxBodyBytes, Version: a.Version, Metrics: a.Metrics}
}

// JobDeps are the task handlers' parts.
func (a *App) JobDeps() jobs.Deps {
	return jobs.Deps{Client: a.Jobs, Connections: a.Connections, Imports: a.Imports, ImportRunner: a.Runner, Hooks: a.Hooks, Calls: a.Calls, Users: a.Users}
}

// StartWorker starts a worker with the configured concurrency.
func (a *App) StartWorker() (*jobs.Worker, error) {
	w, err := jobs.NewWorker(jobs.WorkerOptions{Redis: a.Redis, Deps: a.JobDeps(), Log: a.Log,
		DeliveryConcurrency: a.Config.DeliveryConcurrency, Concurrency: a.Config.WorkerConcurrency,
		ShutdownTimeout: a.Config.ShutdownTimeout, DeliveryPoll: a.Config.DeliveryPollInterval})
	if err != nil {
		return nil, err
	}
	if err := w.Start(); err != nil {
		return nil, err
	}
	a.Log.Info("worker ready", "delivery_concurrency", a.Config.DeliveryConcurrency, "concurrency", a.Config.WorkerConcurrency)
	return w, nil
}

// StartScheduler starts the scheduler of the periodic tasks.
func (a *App) StartScheduler() (*jobs.Scheduler, error) {
	s, err := jobs.NewScheduler(jobs.SchedulerOptions{Redis: a.Redis, Log: a.Log, Sources: []jobs.PeriodicSource{
		jobs.ConnectionsSweepSource{}, jobs.ImportSchedules{Store: a.Imports, Log: a.Log}, jobs.DeliveryHousekeeping{}, jobs.CallHousekeeping{},
		jobs.UsersSweepSource{},
	}})
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	a.Log.Info("scheduler ready")
	return s, nil
}

// openDB opens the database with the configured pool and applies pending
// migrations.
func (a *App) openDB(ctx context.Context) (*db.DB, error) {
	d, err := db.OpenWith(ctx, a.Config.DatabaseURL, db.Options{PoolSize: a.Config.DatabasePoolSize})
	if err != nil {
		return nil, err
	}
	a.onClose(func() { d.Close() })
	applied, err := d.Migrate(ctx)
	if err != nil {
		return nil, err
	}
	if len(applied) > 0 {
		a.Log.Info("database migrated", "dialect", d.Dialect, "applied", applied)
	}
	return d, nil
}

// keyRing builds the ring that seals secrets at rest. Without SECRET_KEYS,
// a key file beside the SQLite database is used (and made on first start);
// on PostgreSQL, where several machines share the data, processes other
// than dev refuse to start instead.
func (a *App) keyRing(process string) (*secret.Ring, error) {
	keys := a.Config.SecretKeys
	if len(keys) == 0 {
		path := "liaison.keys"
		if p := a.Config.SQLitePath(); p != "" {
			path = p + ".keys"
		} else if process != ProcessDev {
			return nil, &SetupError{errors.New("SECRET_KEYS is required with PostgreSQL: every process must seal and open secrets with the same keys (make one with `openssl rand -base64 32`)")}
		}
		var created bool
		var err error
		keys, created, err = secret.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, err
		}
		abs, _ := filepath.Abs(path)
		if created {
			a.Log.Warn("SECRET_KEYS is not set: created a new key file for sealing secrets; keep it with the database, and set SECRET_KEYS in production", "path", abs)
		} else {
			a.Log.Info("SECRET_KEYS is not set: sealing secrets with the key file", "path", abs)
		}
	}
	return secret.NewRing(keys)
}

// allowedCIDRs is ALLOWED_CIDRS. When it is unset, dev opens loopback, so
// that a person trying Liaison can point it at services on their own
// machine, and says so. An operator who sets ALLOWED_CIDRS (dev is also the
// way to run Liaison on one machine) gets exactly what they named: loopback
// only if they name it.
func (a *App) allowedCIDRs(process string) []netip.Prefix {
	out := append([]netip.Prefix(nil), a.Config.AllowedCIDRs...)
	if process == ProcessDev && len(out) == 0 {
		out = append(out, DevLoopback...)
		a.Log.Warn("outbound requests to loopback are allowed because ALLOWED_CIDRS is unset; set ALLOWED_CIDRS to choose what the guard opens (e.g. 127.0.0.0/8 to keep loopback)",
			"allowed", DevLoopback)
	}
	return out
}

// DevLoopback is what dev opens when ALLOWED_CIDRS is unset.
var DevLoopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

var (
	// Liaison's own events are recorded by the intake, before the engine
	// exists, and by the engine after (their Record is the same).
	_ connections.EventRecorder = (*hooks.Intake)(nil)
	_ importer.Events           = (*hooks.Service)(nil)
	_ hooks.Queue               = (*jobs.Client)(nil)
	// connections sends every request of the delivery engine; hooks
	// declares what it needs and never imports connections.
	_ hooks.Sender          = (*connections.Service)(nil)
	_ hooks.Connections     = (*connections.Service)(nil)
	_ hooks.CallbackTargets = (*calls.Targets)(nil)
	_ hooks.Resumer         = (*calls.Targets)(nil)
	_ hooks.Resumer         = importer.Waker{}
	_ importer.RunQueue     = (*jobs.Client)(nil)
	_ calls.Connections     = (*connections.Service)(nil)
	_ calls.Queue           = (*jobs.Client)(nil)
)
