package db

import "database/sql"

// Row is one row of a result: a *sql.Row or the current row of *sql.Rows.
type Row interface{ Scan(dest ...any) error }

// Page reads one page of a listing whose query asked for one row more than
// the page holds (LIMIT limit+1): the first limit rows, each read by scan,
// and whether more follow. It closes rows.
func Page[T any](rows *sql.Rows, limit int, scan func(Row) (T, error)) (_ []T, more bool, _ error) {
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
