package db

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// DefaultPoolSize is how many connections to PostgreSQL one process opens
// at most (DATABASE_POOL_SIZE). Ten processes at 8 take 80 of PostgreSQL's
// usual max_connections of 100, leaving room for the scheduler, migrations,
// an operator's psql and the superuser's reserved slots. It is what one
// process uses at its busiest: the delivery engine's batchers hold at most
// four at once (two intake runners, one load, one attempt write) and the
// rest is shared by the requests and tasks that wait for one (database/sql
// queues them), and it equals WarmConnections, so a warmed pool is full.
const DefaultPoolSize = 8

// ConnectRetryFor is how long a new connection is tried again while
// PostgreSQL refuses it for being full (too many clients, or the role's
// CONNECTION LIMIT) or for starting up: a slot usually frees within
// milliseconds, when another process's connection closes. Past it the
// error is returned, and the API answers 503 (Unavailable).
const ConnectRetryFor = 10 * time.Second

// connectTimeout bounds one connection attempt when DATABASE_URL sets no
// connect_timeout, so that an unreachable server is an error in seconds
// rather than a request hanging until the client gives up.
const connectTimeout = 5 * time.Second

// Options tune Open; the zero value is the defaults.
type Options struct {
	// PoolSize is the most connections the process opens to PostgreSQL;
	// work beyond it waits for a free one. Default DefaultPoolSize. SQLite
	// keeps its own fixed pool.
	PoolSize int
}

// validate checks what is set: a pool size is not negative (0 means the
// default).
func (o Options) validate() error {
	if o.PoolSize < 0 {
		return fmt.Errorf("db: Options.PoolSize is negative (%d); 0 means the default", o.PoolSize)
	}
	return nil
}

// withDefaults fills what is unset.
func (o Options) withDefaults() Options {
	o.PoolSize = cmp.Or(o.PoolSize, DefaultPoolSize)
	return o
}

// openPostgres builds the pool: pgx's connector, wrapped so that a server
// that is full makes a new connection wait and try again (retryConnector),
// and bounded to PoolSize connections.
func openPostgres(rawURL string, o Options) (*sql.DB, *atomic.Int64, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		// The parse error quotes the URL; its password stays out of it.
		var pce *pgconn.ParseConfigError
		if errors.As(err, &pce) && errors.Unwrap(pce) != nil {
			return nil, nil, fmt.Errorf("db: DATABASE_URL is not a valid PostgreSQL URL: %w", errors.Unwrap(pce))
		}
		return nil, nil, errors.New("db: DATABASE_URL is not a valid PostgreSQL URL")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	retries := &atomic.Int64{}
	sqldb := sql.OpenDB(&retryConnector{Connector: stdlib.GetConnector(*cfg), retries: retries, retryFor: ConnectRetryFor})
	sqldb.SetMaxOpenConns(o.PoolSize)
	sqldb.SetMaxIdleConns(o.PoolSize)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	return sqldb, retries, nil
}

// retryConnector opens connections through Connector and, while the server
// answers that it is full or starting up, tries again with a short,
// growing, jittered pause, within retryFor and the caller's context. It
// counts every retry.
type retryConnector struct {
	driver.Connector
	retries  *atomic.Int64
	retryFor time.Duration
}

func (c *retryConnector) Connect(ctx context.Context) (driver.Conn, error) {
	deadline := time.Now().Add(c.retryFor)
	pause := 5 * time.Millisecond
	for {
		conn, err := c.Connector.Connect(ctx)
		if err == nil || !serverBusy(err) || time.Now().Add(pause).After(deadline) {
			return conn, err
		}
		c.retries.Add(1)
		t := time.NewTimer(pause/2 + rand.N(pause))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		pause = min(2*pause, 250*time.Millisecond)
	}
}

// serverBusy reports whether a connection was refused by a server that is
// up but cannot take it now: 53300 too_many_connections (the server's
// max_connections or the role's CONNECTION LIMIT) or 57P03
// cannot_connect_now (starting up).
func serverBusy(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "53300" || pgErr.Code == "57P03")
}

// ConnectRetries is how many times a new connection was tried again
// because PostgreSQL was full or starting up (0 on SQLite).
func (db *DB) ConnectRetries() int64 {
	if db.connectRetries == nil {
		return 0
	}
	return db.connectRetries.Load()
}
