package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liaison/liaison/internal/db"
)

// Database is a migrated test database and the URL that reaches it, for
// processes the test starts.
type Database struct {
	*db.DB
	URL string
}

// New opens a fresh, migrated database for t and removes it afterwards.
// A DATABASE_URL that does not answer fails the test: it never skips.
func New(t testing.TB) Database {
	t.Helper()
	d := Empty(t)
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatalf("migrating test database: %v", err)
	}
	return d
}

// Empty is New without migrating.
func Empty(t testing.TB) Database {
	t.Helper()
	ctx := context.Background()
	base := os.Getenv("DATABASE_URL")
	if base == "" || strings.HasPrefix(base, "sqlite:") {
		u := "sqlite:" + filepath.Join(t.TempDir(), "test.db")
		d, err := db.Open(ctx, u)
		if err != nil {
			t.Fatalf("opening test sqlite: %v", err)
		}
		t.Cleanup(func() { d.Close() })
		return Database{DB: d, URL: u}
	}

	admin, err := db.Open(ctx, base)
	if err != nil {
		t.Fatalf("DATABASE_URL is set but PostgreSQL does not answer (start it, or unset DATABASE_URL for SQLite): %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		t.Fatalf("creating test schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		admin.Close()
	})

	pu, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing DATABASE_URL: %v", err)
	}
	q := pu.Query()
	q.Set("search_path", schema)
	pu.RawQuery = q.Encode()
	d, err := db.Open(ctx, pu.String())
	if err != nil {
		t.Fatalf("opening test schema: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return Database{DB: d, URL: pu.String()}
}
