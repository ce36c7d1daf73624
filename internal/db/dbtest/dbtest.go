package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
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

// Role makes a PostgreSQL role of its own for t that may open at most
// limit connections (CREATE ROLE … LOGIN CONNECTION LIMIT limit, which
// needs no server restart), with the rights Liaison needs on d's schema,
// and returns the URL that reaches d as that role. It is dropped after the
// test, its connections ended first. PostgreSQL only: SQLite has no roles,
// and Role fails the test there.
func Role(t testing.TB, d Database, limit int) string {
	t.Helper()
	if d.Dialect != db.Postgres {
		t.Fatalf("dbtest.Role needs PostgreSQL (DATABASE_URL=postgres://…)")
	}
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	role := "liaison_test_" + hex.EncodeToString(b)
	var schema string
	if err := d.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatalf("reading the test schema: %v", err)
	}
	for _, q := range []string{
		fmt.Sprintf(`CREATE ROLE %s LOGIN CONNECTION LIMIT %d`, role, limit),
		fmt.Sprintf(`GRANT USAGE, CREATE ON SCHEMA %s TO %s`, schema, role),
		fmt.Sprintf(`GRANT ALL ON ALL TABLES IN SCHEMA %s TO %s`, schema, role),
		fmt.Sprintf(`GRANT ALL ON ALL SEQUENCES IN SCHEMA %s TO %s`, schema, role),
	} {
		if _, err := d.ExecContext(ctx, q); err != nil {
			t.Fatalf("making the test role: %s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = d.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, role)
		for _, q := range []string{`DROP OWNED BY ` + role, `DROP ROLE ` + role} {
			if _, err := d.ExecContext(ctx, q); err != nil {
				t.Errorf("dropping the test role: %s: %v", q, err)
			}
		}
	})
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatalf("parsing the test database URL: %v", err)
	}
	u.User = url.User(role)
	return u.String()
}

// Dump reads every column of every row of the tables as text, a line
// "table.column=value" each, for a test to search for what must not be
// stored (a secret in plain text).
func (d Database) Dump(t testing.TB, tables ...string) string {
	t.Helper()
	var sb strings.Builder
	for _, table := range tables {
		rows, err := d.QueryContext(context.Background(), `SELECT * FROM `+table)
		if err != nil {
			t.Fatalf("reading table %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatalf("reading the columns of %s: %v", table, err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("reading a row of %s: %v", table, err)
			}
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&sb, "%s.%s=%v\n", table, cols[i], v)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("reading table %s: %v", table, err)
		}
		rows.Close()
	}
	return sb.String()
}

// Strings runs a query of one text column and gives its rows' values in
// order.
func (d Database) Strings(t testing.TB, query string, args ...any) []string {
	t.Helper()
	rows, err := d.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("querying %s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("reading a row of %s: %v", query, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("querying %s: %v", query, err)
	}
	return out
}
