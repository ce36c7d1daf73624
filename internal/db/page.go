package db

import "context"

// Row is one row of a result: a *sql.Row or the current row of *sql.Rows.
type Row interface{ Scan(dest ...any) error }

// Page runs a listing query that asks for one row more than the page
// holds (its LIMIT is limit+1) and gives the first limit rows, each read
// by scan, and whether more follow.
func Page[T any](ctx context.Context, d *DB, scan func(Row) (T, error), limit int, query string, args ...any) (_ []T, more bool, _ error) {
	rows, err := d.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, item)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}
