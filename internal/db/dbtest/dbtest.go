package dbtest

import (
	"context"
	"os"
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
	base := os.Getenv("DATABASE_URL")
	d, u, cleanup, err := db.OpenScratch(context.Background(), base, "test")
	if err != nil {
		if base != "" && !strings.HasPrefix(base, "sqlite:") {
			t.Fatalf("DATABASE_URL is set but PostgreSQL does not answer (start it, or unset DATABASE_URL for SQLite): %v", err)
		}
		t.Fatalf("opening test database: %v", err)
	}
	t.Cleanup(cleanup)
	return Database{DB: d, URL: u}
}
