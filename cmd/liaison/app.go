package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/liaison/liaison/config"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/logging"
	"github.com/liaison/liaison/internal/secret"
	"github.com/liaison/liaison/jobs"
)

// environment is the composition root: it opens what a command needs, once,
// and closes it in reverse order.
type environment struct {
	cfg            config.Config
	cmd            string
	log            *slog.Logger
	stdout, stderr io.Writer
	closers        []func()
}

func newEnvironment(cfg config.Config, cmd string, stdout, stderr io.Writer) *environment {
	log := logging.New(stderr, cfg.LogLevel, cfg.LogFormat).With("process", cmd)
	return &environment{cfg: cfg, cmd: cmd, log: log, stdout: stdout, stderr: stderr}
}

func (e *environment) onClose(f func()) { e.closers = append(e.closers, f) }

func (e *environment) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// dbOpen opens the database with the configured pool.
func (e *environment) dbOpen(ctx context.Context) (*db.DB, error) {
	return db.OpenWith(ctx, e.cfg.DatabaseURL, db.Options{PoolSize: e.cfg.DatabasePoolSize})
}

// openDB opens the database and applies pending migrations.
func (e *environment) openDB(ctx context.Context) (*db.DB, error) {
	d, err := e.dbOpen(ctx)
	if err != nil {
		return nil, err
	}
	e.onClose(func() { d.Close() })
	applied, err := d.Migrate(ctx)
	if err != nil {
		return nil, err
	}
	if len(applied) > 0 {
		e.log.Info("database migrated", "dialect", d.Dialect, "applied", applied)
	}
	return d, nil
}

// openRedis opens the queue's Redis (the embedded one when REDIS_URL is
// unset, which only dev allows: separate processes could not share it).
func (e *environment) openRedis(ctx context.Context) (*jobs.Redis, error) {
	r, err := jobs.OpenRedis(ctx, e.cfg.RedisURL, e.log)
	if err != nil {
		return nil, err
	}
	e.onClose(func() { r.Close() })
	return r, nil
}

// keyRing builds the ring that seals secrets at rest. Without SECRET_KEYS,
// a key file beside the SQLite database is used (and made on first start);
// on PostgreSQL, where several machines share the data, processes other
// than dev refuse to start instead.
func (e *environment) keyRing() (*secret.Ring, error) {
	keys := e.cfg.SecretKeys
	if len(keys) == 0 {
		path := "liaison.keys"
		if p := e.cfg.SQLitePath(); p != "" {
			path = p + ".keys"
		} else if e.cmd != "dev" {
			return nil, &exitError{2, errors.New("SECRET_KEYS is required with PostgreSQL: every process must seal and open secrets with the same keys (make one with `openssl rand -base64 32`)")}
		}
		var created bool
		var err error
		keys, created, err = secret.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, err
		}
		abs, _ := filepath.Abs(path)
		if created {
			e.log.Warn("SECRET_KEYS is not set: created a new key file for sealing secrets; keep it with the database, and set SECRET_KEYS in production", "path", abs)
		} else {
			e.log.Info("SECRET_KEYS is not set: sealing secrets with the key file", "path", abs)
		}
	}
	return secret.NewRing(keys)
}

// allowedCIDRs is ALLOWED_CIDRS. When it is unset, dev opens loopback, so
// that a person trying Liaison can point it at services on their own
// machine, and says so. An operator who sets ALLOWED_CIDRS (dev is also the
// way to run Liaison on one machine) gets exactly what they named: loopback
// only if they name it.
func (e *environment) allowedCIDRs() []netip.Prefix {
	out := append([]netip.Prefix(nil), e.cfg.AllowedCIDRs...)
	if e.cmd == "dev" && len(out) == 0 {
		out = append(out, devLoopback...)
		e.log.Warn("outbound requests to loopback are allowed because ALLOWED_CIDRS is unset; set ALLOWED_CIDRS to choose what the guard opens (e.g. 127.0.0.0/8 to keep loopback)",
			"allowed", devLoopback)
	}
	return out
}

// devLoopback is what dev opens when ALLOWED_CIDRS is unset.
var devLoopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

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

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
