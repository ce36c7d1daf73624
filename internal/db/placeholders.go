package db

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// Placeholders is "$start,…,$(start+n-1)": the parameters of an IN list or
// of one row of a multi-row VALUES, numbered from start.
func Placeholders(start, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("$" + strconv.Itoa(start+i))
	}
	return b.String()
}

// Querier is a database or a transaction, as a query that reads needs it.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// QueryStrings runs, on the database or in a transaction, a query that
// selects one text column (ids, mostly).
func QueryStrings(ctx context.Context, q Querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Args is ss as query arguments.
func Args(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
