package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/metrics"
	"github.com/liaison/liaison/jobs"
)

// parts is what a running process is made of; each command starts some.
type parts struct {
	db     *db.DB
	redis  *jobs.Redis
	client *jobs.Client
	tokens *access.Store
	// connections is the connections service and the outbound client.
	connections *connections.Service
	imports     *importer.Store
	runner      *importer.Runner
	// hooks is events in and deliveries out.
	hooks *hooks.Service
	// metrics is what GET /metrics serves; the domain packages count into
	// it through their Observe callbacks.
	metrics *metrics.Metrics
}

// open opens the database (migrated), Redis and the key ring.
func (e *environment) open(ctx context.Context) (*parts, error) {
	start := time.Now()
	if e.cfg.RedisURL == "" && e.cmd != "dev" {
		return nil, &exitError{2, errors.New("REDIS_URL is required: separate web, worker and scheduler processes must share one Redis (liaison dev runs all three on an embedded one)")}
	}
	ring, err := e.keyRing()
	if err != nil {
		return nil, err
	}
	d, err := e.openDB(ctx)
	if err != nil {
		return nil, err
	}
	if e.cmd != "scheduler" {
		// The first requests and deliveries find their connections open.
		if err := d.Warm(ctx, db.WarmConnections); err != nil {
			e.log.Warn("opening database connections ahead of time", "error", err)
		}
	}
	r, err := e.openRedis(ctx)
	if err != nil {
		return nil, err
	}
	c := jobs.NewClient(r)
	e.onClose(func() { c.Close() })
	m := metrics.New(e.log.With("component", "metrics"))
	m.WatchDatabase(d)
	// Liaison's own events go out through the delivery engine (hooks.go).
	events := &ownEvents{}
	conns, err := connections.New(connections.Options{
		DB: d, Redis: r.UniversalClient, Ring: ring, AllowedCIDRs: e.allowedCIDRs(),
		RedirectURI: e.cfg.RedirectURI(), Log: e.log.With("component", "connections"), Version: version,
		Events: events, ObserveRefresh: m.ObserveRefresh,
	})
	if err != nil {
		return nil, err
	}
	e.onClose(conns.Close)
	deliveries, err := e.openHooks(d, r, ring, conns, c, m)
	if err != nil {
		return nil, err
	}
	events.hooks = deliveries
	e.onClose(deliveries.Close)
	// Headers stored before they were sealed (migration 0009) are sealed
	// by the first process that starts with the keys.
	if err := conns.SealStoredHeaders(ctx); err != nil {
		return nil, err
	}
	if err := deliveries.SealStoredHeaders(ctx); err != nil {
		return nil, err
	}
	imports := importer.NewStore(d, events)
	imports.ObserveRun = m.ObserveRun
	runner := importer.NewRunner(imports, conns, e.log.With("component", "importer"))
	e.log.Debug("opened database and redis", "took", since(start))
	return &parts{db: d, redis: r, client: c, tokens: access.NewStore(d, e.cfg.TokenRotationOverlap), connections: conns,
		imports: imports, runner: runner, hooks: deliveries, metrics: m}, nil
}

func (e *environment) apiDeps(p *parts) api.Deps {
	return api.Deps{Log: e.log, DB: p.db, Redis: p.redis, Jobs: p.client, Tokens: p.tokens, Connections: p.connections, Imports: p.imports, Hooks: p.hooks, MaxBodyBytes: e.cfg.MaxBodyBytes, Version: version, Metrics: p.metrics}
}

func (e *environment) jobDeps(p *parts) jobs.Deps {
	return jobs.Deps{Client: p.client, Connections: p.connections, Imports: p.imports, ImportRunner: p.runner, Hooks: p.hooks}
}

func (e *environment) startWorker(p *parts) (*jobs.Worker, error) {
	w := jobs.NewWorker(p.redis, jobs.WorkerConfig{
		DeliveryConcurrency: e.cfg.DeliveryConcurrency, Concurrency: e.cfg.WorkerConcurrency, ShutdownTimeout: e.cfg.ShutdownTimeout,
		DeliveryPoll: e.cfg.DeliveryPollInterval}, e.jobDeps(p), e.log)
	if err := w.Start(); err != nil {
		return nil, err
	}
	e.log.Info("worker ready", "delivery_concurrency", e.cfg.DeliveryConcurrency, "concurrency", e.cfg.WorkerConcurrency)
	return w, nil
}

func (e *environment) startScheduler(p *parts) (*jobs.Scheduler, error) {
	s, err := jobs.NewScheduler(p.redis, jobs.SchedulerConfig{}, e.log, jobs.ConnectionsSweepSource{},
		jobs.ImportSchedules{Store: p.imports, Log: e.log}, jobs.DeliveryHousekeeping{}, jobs.CallHousekeeping{})
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	e.log.Info("scheduler ready")
	return s, nil
}

func runDev(ctx context.Context, e *environment, _ []string) error {
	defer e.close()
	p, err := e.open(ctx)
	if err != nil {
		return err
	}
	w, err := e.startWorker(p)
	if err != nil {
		return err
	}
	s, err := e.startScheduler(p)
	if err != nil {
		w.Shutdown()
		return err
	}
	boot, err := e.bootstrapToken(ctx, p)
	if err != nil {
		s.Shutdown()
		w.Shutdown()
		return err
	}
	// The web process reports the queues' gauges; the other processes
	// would read the same Redis.
	p.metrics.WatchQueues(p.client.QueueTasks)
	srv := api.HTTPServer(e.cfg.ListenAddr, api.New(e.apiDeps(p)), e.log)
	err = e.serveHTTP(ctx, srv, func(addr string) {
		e.log.Info("web ready", "addr", addr, "public_url", e.cfg.PublicURL)
		fmt.Fprintf(e.stdout, "Liaison is running: open %s (health: %s/healthz, API description: %s/openapi.json)\n", localURL(addr), localURL(addr), localURL(addr))
		if boot != "" {
			fmt.Fprintf(e.stdout, "\nAn access token with every scope was created for this new database. It is shown once, now:\n\n    %s\n\nUse it as Authorization: Bearer <token>. Make more with: liaison tokens create --name NAME --scopes a,b\n\n", boot)
		}
	})
	s.Shutdown()
	w.Shutdown()
	return err
}

func runServe(ctx context.Context, e *environment, _ []string) error {
	defer e.close()
	p, err := e.open(ctx)
	if err != nil {
		return err
	}
	// The web process reports the queues' gauges; the other processes
	// would read the same Redis.
	p.metrics.WatchQueues(p.client.QueueTasks)
	srv := api.HTTPServer(e.cfg.ListenAddr, api.New(e.apiDeps(p)), e.log)
	return e.serveHTTP(ctx, srv, func(addr string) {
		e.log.Info("web ready", "addr", addr, "public_url", e.cfg.PublicURL)
	})
}

func runWorker(ctx context.Context, e *environment, _ []string) error {
	defer e.close()
	p, err := e.open(ctx)
	if err != nil {
		return err
	}
	w, err := e.startWorker(p)
	if err != nil {
		return err
	}
	err = e.serveHealth(ctx, p)
	w.Shutdown()
	return err
}

func runScheduler(ctx context.Context, e *environment, _ []string) error {
	defer e.close()
	p, err := e.open(ctx)
	if err != nil {
		return err
	}
	s, err := e.startScheduler(p)
	if err != nil {
		return err
	}
	err = e.serveHealth(ctx, p)
	s.Shutdown()
	return err
}

// serveHealth serves /healthz, /readyz and /metrics on HEALTH_ADDR when it
// is set and otherwise just waits for the stop signal.
func (e *environment) serveHealth(ctx context.Context, p *parts) error {
	if e.cfg.HealthAddr == "" {
		e.waitForStop(ctx)
		return nil
	}
	d := e.apiDeps(p)
	d.Jobs = nil // a worker's readiness does not depend on other workers
	srv := api.HTTPServer(e.cfg.HealthAddr, api.NewHealth(d), e.log)
	return e.serveHTTP(ctx, srv, func(addr string) { e.log.Info("health endpoint ready", "addr", addr) })
}

func runMigrate(ctx context.Context, e *environment, _ []string) error {
	defer e.close()
	d, err := e.dbOpen(ctx)
	if err != nil {
		return err
	}
	e.onClose(func() { d.Close() })
	applied, err := d.Migrate(ctx)
	if err != nil {
		return err
	}
	v, err := d.Version(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(e.stdout, "database is up to date (version %d)\n", v)
		return nil
	}
	fmt.Fprintf(e.stdout, "applied %s; database is at version %d\n", strings.Join(applied, ", "), v)
	return nil
}

// localURL turns a listen address into something a person can open.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

var _ http.Handler = (*api.Server)(nil)
