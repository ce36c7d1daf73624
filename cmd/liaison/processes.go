package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/app"
)

func runDev(ctx context.Context, e *environment, _ []string) error {
	defer e.close()
	p, err := e.open(ctx)
	if err != nil {
		return err
	}
	w, err := p.StartWorker()
	if err != nil {
		return err
	}
	s, err := p.StartScheduler()
	if err != nil {
		w.Shutdown()
		return err
	}
	boot, err := e.bootstrapToken(ctx, p)
	var setup string
	if err == nil {
		setup, err = e.setupLink(ctx, p)
	}
	if err != nil {
		s.Shutdown()
		w.Shutdown()
		return err
	}
	srv, err := e.webServer(p)
	if err != nil {
		s.Shutdown()
		w.Shutdown()
		return err
	}
	err = e.serveHTTP(ctx, srv, func(addr string) {
		e.log.Info("web ready", "addr", addr, "public_url", e.cfg.PublicURL)
		fmt.Fprintf(e.stdout, "Liaison is running: open %s (health: %s/healthz, API description: %s/openapi.json)\n", localURL(addr), localURL(addr), localURL(addr))
		if boot != "" {
			fmt.Fprintf(e.stdout, "\nAn access token with every scope was created for this new database. It is shown once, now:\n\n    %s\n\nUse it as Authorization: Bearer <token>. Make more with: liaison tokens create --name NAME --scopes a,b\n\n", boot)
		}
		if setup != "" {
			if boot == "" {
				fmt.Fprintln(e.stdout)
			}
			fmt.Fprintf(e.stdout, "No one can sign in to the web UI yet. Create the first admin, once, at:\n\n    %s\n\nor from the command line: liaison users create --email E --role admin\n\n", setup)
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
	srv, err := e.webServer(p)
	if err != nil {
		return err
	}
	return e.serveHTTP(ctx, srv, func(addr string) {
		e.log.Info("web ready", "addr", addr, "public_url", e.cfg.PublicURL)
	})
}

// webServer is the web process's server on LISTEN_ADDR: the API and the
// web UI (app.WebHandler). The web process reports the queues' gauges; the
// other processes would read the same Redis.
func (e *environment) webServer(p *app.App) (*http.Server, error) {
	p.Metrics.WatchQueues(p.Jobs.QueueTasks)
	h, err := p.WebHandler()
	if err != nil {
		return nil, err
	}
	return api.HTTPServer(e.cfg.ListenAddr, h, e.log), nil
}

func runWorker(ctx context.Context, e *environment, _ []string) error {
	return runBackground(ctx, e, (*app.App).StartWorker)
}

func runScheduler(ctx context.Context, e *environment, _ []string) error {
	return runBackground(ctx, e, (*app.App).StartScheduler)
}

// runBackground is a worker or scheduler process: it starts the one part
// of the app it runs, serves health until the stop signal, and shuts the
// part down.
func runBackground[T interface{ Shutdown() }](ctx context.Context, e *environment, start func(*app.App) (T, error)) error {
	defer e.close()
	p, err := e.open(ctx)
	if err != nil {
		return err
	}
	part, err := start(p)
	if err != nil {
		return err
	}
	err = e.serveHealth(ctx, p)
	part.Shutdown()
	return err
}

// serveHealth serves /healthz, /readyz and /metrics on HEALTH_ADDR when it
// is set and otherwise just waits for the stop signal.
func (e *environment) serveHealth(ctx context.Context, p *app.App) error {
	if e.cfg.HealthAddr == "" {
		e.waitForStop(ctx)
		return nil
	}
	d := p.APIDeps()
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
