package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect is the SQL flavour of a database.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is a database handle that knows its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect
	// connectRetries counts retryConnector's retries (nil on SQLite).
	connectRetries *atomic.Int64
}

// ErrNoRows is sql.ErrNoRows, re-exported so domain stores need not import
// database/sql just for it.
var ErrNoRows = sql.ErrNoRows

// Open connects to the database that rawURL names and checks that it answers,
// with the default Options. It does not migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	return OpenWith(ctx, rawURL, Options{})
}

// OpenWith is Open with options: the pool size.
func OpenWith(ctx context.Context, rawURL string, o Options) (*DB, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	var db *DB
	if path, ok := strings.CutPrefix(rawURL, "sqlite:"); ok {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("db: creating folder for %s: %w", path, err)
		}
		// WAL lets readers go on while one process writes; busy_timeout makes
		// writers from several processes queue instead of failing; immediate
		// transactions take the write lock up front so two transactions never
		// deadlock upgrading read locks.
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Set("_txlock", "immediate")
		sqldb, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("db: opening sqlite %s: %w", path, err)
		}
		sqldb.SetMaxOpenConns(8)
		db = &DB{DB: sqldb, Dialect: SQLite}
	} else {
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return nil, errors.New("db: DATABASE_URL is neither postgres://… nor sqlite:PATH")
		}
		sqldb, retries, err := openPostgres(rawURL, o)
		if err != nil {
			return nil, err
		}
		db = &DB{DB: sqldb, Dialect: Postgres, connectRetries: retries}
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("db: %s does not answer: %w", db.Dialect, err)
	}
	return db, nil
}

// WarmConnections is how many connections the web and worker processes
// open before they report ready (Warm): about what 200 events a second,
// each a request and a delivery, keep busy at once.
const WarmConnections = 8

// Warm opens n connections to PostgreSQL at once and leaves them idle in
// the pool, so that a process's first bursts do not wait, request by
// request, for PostgreSQL to start a backend per new connection (tens of
// milliseconds each, and the first statements on a new backend are slower
// still while its caches fill, which stalls everything waiting on those
// requests; figures: README, Performance). The web and worker
// processes warm their pools before they report ready. SQLite has nothing
// to warm. It opens at most the pool's size: holding more at once would
// wait forever for a connection that it holds itself.
func (db *DB) Warm(ctx context.Context, n int) error {
	if limit := db.Stats().MaxOpenConnections; limit > 0 {
		n = min(n, limit)
	}
	if db.Dialect != Postgres || n <= 0 {
		return nil
	}
	conns := make([]*sql.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close() // back to the pool, open
			}
		}
	}()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := db.Conn(ctx)
			if err == nil {
				err = c.PingContext(ctx)
				conns[i] = c
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("db: opening connections: %w", err)
	}
	return nil
}

// ForUpdate ends a SELECT inside InTx that reads a row the transaction
// then changes: " FOR UPDATE" on PostgreSQL, so two transactions cannot
// both act on what they read; nothing on SQLite, whose transactions take
// the write lock when they begin (_txlock=immediate) and so never overlap.
func (db *DB) ForUpdate() string {
	if db.Dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// InTx runs fn in a transaction, committing when it returns nil.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: committing: %w", err)
	}
	return nil
}

// InTxUnflushed runs fn in a transaction whose commit does not wait for
// PostgreSQL to flush it to disk (synchronous_commit off for this
// transaction alone). It is seen by everyone at once, like any commit, and
// reaches the disk a moment later with the next flush (within about 0.6 s,
// three wal_writer_delay). A crash of the database server in that moment
// loses it whole, never in part; a crash of Liaison's process loses
// nothing. For writes whose loss the system repairs by doing the work
// again, such as a delivery's attempt record (the delivery is then still
// due and the sweep sends it again, under the same id): they no longer
// make every commit wait behind them for the disk, which on a slow disk
// is what a commit costs. On SQLite it is InTx: in WAL mode with
// synchronous=NORMAL no commit waits for the disk.
func (db *DB) InTxUnflushed(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.Dialect != Postgres {
		return db.InTx(ctx, fn)
	}
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return fmt.Errorf("db: not waiting for the flush: %w", err)
		}
		return fn(tx)
	})
}

// IsUniqueViolation reports whether err is a unique-constraint failure.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		return sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// Now is the current time as stored: UTC, to the microsecond (PostgreSQL's
// precision), so what is written compares equal to what is read back.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
