package db_test

import (
	"context"
	"database/sql"
	"os"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/db/dbtest"
)

func TestMigrateEmptyThenAgain(t *testing.T) {
	t.Parallel()
	d := dbtest.Empty(t)
	ctx := context.Background()

	want, err := db.Migrations(d.Dialect)
	require.NoError(t, err)
	require.NotEmpty(t, want)

	applied, err := d.Migrate(ctx)
	require.NoError(t, err)
	require.Len(t, applied, len(want), "every migration applies on an empty database")

	again, err := d.Migrate(ctx)
	require.NoError(t, err)
	require.Empty(t, again, "a second run applies nothing")

	v, err := d.Version(ctx)
	require.NoError(t, err)
	require.Equal(t, want[len(want)-1].Version, v)
}

func TestBothDialectsHaveTheSameMigrations(t *testing.T) {
	t.Parallel()
	pg, err := db.Migrations(db.Postgres)
	require.NoError(t, err)
	lite, err := db.Migrations(db.SQLite)
	require.NoError(t, err)
	require.Equal(t, len(pg), len(lite))
	for i := range pg {
		require.Equal(t, pg[i].Name, lite[i].Name)
	}
}

func TestConcurrentMigrateRunsEachOnce(t *testing.T) {
	t.Parallel()
	d := dbtest.Empty(t)
	ctx := context.Background()
	ms, err := db.ReadMigrations(fstest.MapFS{
		"0001_a.sql": {Data: []byte(`CREATE TABLE a (id TEXT PRIMARY KEY)`)},
		"0002_b.sql": {Data: []byte(`INSERT INTO a (id) VALUES ('only-once')`)},
	})
	require.NoError(t, err)

	// Separate handles stand in for separate processes: each has its own
	// connections, so only the database's lock keeps them apart.
	const n = 4
	handles := make([]*db.DB, n)
	for i := range handles {
		h, err := db.Open(ctx, d.URL)
		require.NoError(t, err)
		t.Cleanup(func() { h.Close() })
		handles[i] = h
	}
	var wg sync.WaitGroup
	total := make(chan int, n)
	for _, h := range handles {
		wg.Go(func() {
			applied, err := h.Apply(ctx, ms)
			require.NoError(t, err)
			total <- len(applied)
		})
	}
	wg.Wait()
	close(total)
	sum := 0
	for k := range total {
		sum += k
	}
	require.Equal(t, 2, sum, "each migration applied by exactly one process")

	var rows int
	require.NoError(t, d.QueryRowContext(ctx, `SELECT count(*) FROM a`).Scan(&rows))
	require.Equal(t, 1, rows)
}

func TestReadMigrationsRejectsBadNames(t *testing.T) {
	t.Parallel()
	_, err := db.ReadMigrations(fstest.MapFS{"init.sql": {Data: []byte("x")}})
	require.ErrorContains(t, err, "NNNN_name.sql")
	_, err = db.ReadMigrations(fstest.MapFS{
		"0001_a.sql": {Data: []byte("x")},
		"1_b.sql":    {Data: []byte("y")},
	})
	require.ErrorContains(t, err, "share version 1")
}

func TestWarmLeavesConnectionsOpenInThePool(t *testing.T) {
	t.Parallel()
	d := dbtest.Empty(t)
	require.NoError(t, d.Warm(context.Background(), 5))
	stats := d.Stats()
	if d.Dialect != db.Postgres {
		require.LessOrEqual(t, stats.OpenConnections, 1, "SQLite: nothing to warm")
		return
	}
	require.GreaterOrEqual(t, stats.OpenConnections, 5)
	require.GreaterOrEqual(t, stats.Idle, 5, "open and idle, ready for the first requests")
	require.Zero(t, stats.MaxIdleClosed, "none closed on the way back to the pool")
}

func TestUnflushedTransactionCommitsWithoutWaitingForTheDisk(t *testing.T) {
	t.Parallel()
	d := dbtest.Empty(t)
	ctx := context.Background()
	_, err := d.ExecContext(ctx, `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`)
	require.NoError(t, err)
	if d.Dialect == db.Postgres {
		// Pin one connection, so that "after" is read where the
		// transaction ran.
		d.SetMaxOpenConns(1)
	}
	setting := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) string {
		if d.Dialect != db.Postgres {
			return "" // SQLite: no such setting; no commit waits for the disk
		}
		var v string
		require.NoError(t, q.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&v))
		return v
	}
	before := setting(d)
	require.NoError(t, d.InTxUnflushed(ctx, func(tx *sql.Tx) error {
		if d.Dialect == db.Postgres {
			require.Equal(t, "off", setting(tx), "this transaction alone does not wait for the flush")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO notes (id, body) VALUES (1, 'kept')`)
		return err
	}))
	require.Equal(t, before, setting(d), "the connection goes back to the pool as it was")
	var body string
	require.NoError(t, d.QueryRowContext(ctx, `SELECT body FROM notes WHERE id = 1`).Scan(&body))
	require.Equal(t, "kept", body, "committed and seen at once")

	// A failing function rolls the transaction back, as InTx does.
	require.Error(t, d.InTxUnflushed(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO notes (id, body) VALUES (2, 'dropped')`)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, `INSERT INTO notes (id, body) VALUES (1, 'again')`)
		return err
	}))
	var n int
	require.NoError(t, d.QueryRowContext(ctx, `SELECT count(*) FROM notes`).Scan(&n))
	require.Equal(t, 1, n)
}

// TestPoolSizeBoundsConnectionsAndWorkWaits runs many more statements at
// once than the pool has connections: none fails, the pool never opens
// more than its size, the waits are counted (what /metrics shows), and
// warming more connections than the pool holds returns instead of waiting
// for itself.
func TestPoolSizeBoundsConnectionsAndWorkWaits(t *testing.T) {
	t.Parallel()
	base := dbtest.Empty(t)
	ctx := context.Background()
	d, err := db.OpenWith(ctx, base.URL, db.Options{PoolSize: 3})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	if d.Dialect != db.Postgres {
		// SQLite keeps its own pool; the statements below still all pass.
		require.Equal(t, 8, d.Stats().MaxOpenConnections)
	} else {
		require.Equal(t, 3, d.Stats().MaxOpenConnections)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, d.Warm(wctx, db.WarmConnections), "warming more than the pool holds")

	sleep := `SELECT pg_sleep(0.02)`
	if d.Dialect != db.Postgres {
		sleep = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 20000) SELECT count(*) FROM n`
	}
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for range 60 {
		wg.Go(func() {
			rows, err := d.QueryContext(ctx, sleep)
			if err == nil {
				err = rows.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	stats := d.Stats()
	require.LessOrEqual(t, stats.OpenConnections, stats.MaxOpenConnections)
	if d.Dialect == db.Postgres {
		require.Positive(t, stats.WaitCount, "60 statements on 3 connections waited for one")
	}
}

// TestConnectWaitsWhileTheServerIsFull fills a role's CONNECTION LIMIT
// from one pool and has another pool of the same role ask for a
// connection: PostgreSQL refuses it (53300, too many connections for the
// role), and the pool tries again until the first pool lets one go, so
// the statement succeeds and the retries are counted. It needs roles,
// so it runs on PostgreSQL only and is skipped only when DATABASE_URL is
// unset (SQLite); TestConnectRetryConnector checks the same loop on both.
func TestConnectWaitsWhileTheServerIsFull(t *testing.T) {
	t.Parallel()
	if os.Getenv("DATABASE_URL") == "" {
		t.Skip("needs PostgreSQL roles: DATABASE_URL is unset (SQLite)")
	}
	base := dbtest.New(t)
	ctx := context.Background()
	roleURL := dbtest.Role(t, base, 2)

	holder, err := db.OpenWith(ctx, roleURL, db.Options{PoolSize: 2})
	require.NoError(t, err)
	t.Cleanup(func() { holder.Close() })
	held := make([]*sql.Conn, 2)
	for i := range held {
		held[i], err = holder.Conn(ctx)
		require.NoError(t, err)
		require.NoError(t, held[i].PingContext(ctx))
	}

	// A moment after the other pool starts asking, one held connection
	// is closed for good (no idle connections kept), freeing a slot.
	holder.SetMaxIdleConns(0)
	start := time.Now()
	go func() {
		time.Sleep(300 * time.Millisecond)
		held[0].Close()
	}()
	t.Cleanup(func() { held[1].Close() })
	waiter, err := db.OpenWith(ctx, roleURL, db.Options{PoolSize: 2}) // Open pings: it needs a connection now
	require.NoError(t, err, "the pool waits for a slot instead of failing")
	t.Cleanup(func() { waiter.Close() })
	require.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond, "it got its connection once one was freed")
	require.Positive(t, waiter.ConnectRetries(), "refused connections were tried again")
	var one int
	require.NoError(t, waiter.QueryRowContext(ctx, `SELECT 1`).Scan(&one))
}
