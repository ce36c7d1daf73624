package calls

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/liaison/liaison/internal/invalid"
)

// Recent is a call as the list of recent calls shows it: no attempts, no
// answer; LastStatus is the status of its latest attempt's answer (0
// before one came).
type Recent struct {
	ID             string
	State          string
	ConnectionID   string
	Method         string
	Path           string
	AttemptCount   int
	LastStatus     int
	LastError      string
	HasCallback    bool
	CreatedAt      time.Time
	FinishedAt     *time.Time
	IdempotencyKey string
}

// List pages through the calls, newest first, limit a page; next is the
// cursor of the page after ("" on the last).
func (s *Service) List(ctx context.Context, cursor string, limit int) (_ []Recent, next string, _ error) {
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT id, state, connection_id, method, path, attempts, last_status, last_error, callback_url, created_at, finished_at, idempotency_key FROM calls`
	args := []any{}
	if cursor != "" {
		at, id, ok := strings.Cut(cursor, "|")
		t, err := time.Parse(time.RFC3339Nano, at)
		if !ok || err != nil {
			return nil, "", invalid.New("cursor", "is not a cursor from a previous page")
		}
		q += ` WHERE created_at < $1 OR (created_at = $1 AND id < $2)`
		args = append(args, t.UTC(), id)
	}
	q += fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d`, limit+1)
	rows, err := s.opts.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("listing calls: %w", err)
	}
	defer rows.Close()
	var out []Recent
	for rows.Next() {
		var (
			c        Recent
			cb       string
			finished sql.NullTime
			key      sql.NullString
		)
		if err := rows.Scan(&c.ID, &c.State, &c.ConnectionID, &c.Method, &c.Path, &c.AttemptCount, &c.LastStatus, &c.LastError, &cb,
			&c.CreatedAt, &finished, &key); err != nil {
			return nil, "", fmt.Errorf("listing calls: %w", err)
		}
		c.HasCallback, c.IdempotencyKey, c.CreatedAt = cb != "", key.String, c.CreatedAt.UTC()
		if finished.Valid {
			t := finished.Time.UTC()
			c.FinishedAt = &t
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("listing calls: %w", err)
	}
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = last.CreatedAt.Format(time.RFC3339Nano) + "|" + last.ID
	}
	return out, next, nil
}
