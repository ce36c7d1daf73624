package db

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// OpenScratch opens a fresh, empty database for a test or a benchmark:
// a new schema named prefix_<random> on the PostgreSQL that rawURL names,
// or, when rawURL is "" or sqlite:…, an SQLite file in a new temporary
// folder. It returns the URL that reaches it (for processes started on it)
// and a cleanup that closes it and drops the schema or removes the folder.
// It does not migrate.
func OpenScratch(ctx context.Context, rawURL, prefix string) (_ *DB, scratchURL string, cleanup func(), _ error) {
	if rawURL == "" || strings.HasPrefix(rawURL, "sqlite:") {
		dir, err := os.MkdirTemp("", prefix)
		if err != nil {
			return nil, "", nil, fmt.Errorf("db: making a scratch folder: %w", err)
		}
		u := "sqlite:" + filepath.Join(dir, prefix+".db")
		d, err := Open(ctx, u)
		if err != nil {
			os.RemoveAll(dir)
			return nil, "", nil, err
		}
		return d, u, func() { d.Close(); os.RemoveAll(dir) }, nil
	}

	admin, err := Open(ctx, rawURL)
	if err != nil {
		return nil, "", nil, err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := prefix + "_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		return nil, "", nil, fmt.Errorf("db: creating schema %s: %w", schema, err)
	}
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		admin.Close()
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		drop()
		return nil, "", nil, fmt.Errorf("db: parsing the database URL: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	d, err := Open(ctx, u.String())
	if err != nil {
		drop()
		return nil, "", nil, err
	}
	return d, u.String(), func() { d.Close(); drop() }, nil
}

// OpenBench opens what a benchmark command runs on: a fresh, migrated
// scratch database (OpenScratch) on rawURL's PostgreSQL, or an SQLite file
// when rawURL is empty. name says which, for the report; cleanup removes it.
func OpenBench(ctx context.Context, rawURL, prefix string) (_ *DB, name string, cleanup func(), _ error) {
	d, _, cleanup, err := OpenScratch(ctx, rawURL, prefix)
	if err != nil {
		return nil, "", nil, err
	}
	if _, err := d.Migrate(ctx); err != nil {
		cleanup()
		return nil, "", nil, err
	}
	name = "SQLite (DATABASE_URL unset)"
	if d.Dialect == Postgres {
		name = "PostgreSQL"
	}
	return d, name, cleanup, nil
}
