package db_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"testing/fstest"

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
