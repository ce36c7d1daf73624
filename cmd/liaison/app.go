package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/liaison/liaison/config"
	"github.com/liaison/liaison/internal/app"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/logging"
)

// environment is the composition root: it opens what a command needs, once,
// and closes it in reverse order.
type environment struct {
	cfg            config.Config
	cmd            string
	log            *slog.Logger
	stdin          io.Reader
	stdout, stderr io.Writer
	closers        []func()
}

func newEnvironment(cfg config.Config, cmd string, stdout, stderr io.Writer) *environment {
	log := logging.New(stderr, cfg.LogLevel, cfg.LogFormat).With("process", cmd)
	return &environment{cfg: cfg, cmd: cmd, log: log, stdin: os.Stdin, stdout: stdout, stderr: stderr}
}

func (e *environment) onClose(f func()) { e.closers = append(e.closers, f) }

func (e *environment) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// dbOpen opens the database with the configured pool, without migrating
// it (migrate and tokens use it).
func (e *environment) dbOpen(ctx context.Context) (*db.DB, error) {
	return db.OpenWith(ctx, e.cfg.DatabaseURL, db.Options{PoolSize: e.cfg.DatabasePoolSize})
}

// migratedDB opens the database, closed with the environment, and
// migrates it (tokens and users use it).
func (e *environment) migratedDB(ctx context.Context) (*db.DB, error) {
	d, err := e.dbOpen(ctx)
	if err != nil {
		return nil, err
	}
	e.onClose(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// open builds the application for the command (internal/app), closed with
// the environment.
func (e *environment) open(ctx context.Context) (*app.App, error) {
	a, err := app.Open(ctx, app.Options{Config: e.cfg, Process: e.cmd, Log: e.log, Version: version})
	if err != nil {
		var se *app.SetupError
		if errors.As(err, &se) {
			return nil, &exitError{2, se.Err}
		}
		return nil, err
	}
	e.onClose(a.Close)
	return a, nil
}

// serveHTTP runs srv until ctx ends, then shuts it down within the bound.
func (e *environment) serveHTTP(ctx context.Context, srv *http.Server, ready func(addr string)) error {
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", srv.Addr, err)
	}
	ready(ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	e.log.Info("stopping", "bound", e.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stopping HTTP server: %w", err)
	}
	return nil
}

// waitForStop blocks until a signal and logs it.
func (e *environment) waitForStop(ctx context.Context) {
	<-ctx.Done()
	e.log.Info("stopping", "bound", e.cfg.ShutdownTimeout.String())
}
