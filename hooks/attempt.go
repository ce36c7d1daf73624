package hooks

import (
	"context"
	"encoding/json"
	"fmt"
)

// Attempts of deliveries and of calls share one table; an attempt names its
// owner in delivery_id or in call_id.
const attemptColumns = `number, started_at, duration_ms, method, url, request_headers, request_body,
	status, response_headers, response_body, truncated, error, outcome`

func attemptInsert(ownerColumn string) string {
	return `INSERT INTO attempts (` + ownerColumn + `, ` + attemptColumns + `) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`
}

var (
	deliveryAttemptInsert = attemptInsert("delivery_id")
	callAttemptInsert     = attemptInsert("call_id")
)

// attemptArgs are the 14 arguments of an attemptInsert.
func attemptArgs(owner string, a Attempt) []any {
	return []any{owner, a.Number, a.StartedAt, a.DurationMS, a.Method, a.URL, jsonText(a.RequestHeaders), a.RequestBody,
		a.Status, jsonText(a.ResponseHeaders), a.ResponseBody, a.Truncated, a.Error, a.Outcome}
}

// attempts reads the attempts of a delivery or a call, oldest first.
func (s *Service) attempts(ctx context.Context, ownerColumn, id string) ([]Attempt, error) {
	rows, err := s.opts.DB.QueryContext(ctx, `SELECT `+attemptColumns+` FROM attempts WHERE `+ownerColumn+` = $1 ORDER BY number`, id)
	if err != nil {
		return nil, fmt.Errorf("reading attempts of %s: %w", id, err)
	}
	defer rows.Close()
	out := []Attempt{}
	for rows.Next() {
		var (
			a        Attempt
			reqH, rH string
		)
		if err := rows.Scan(&a.Number, &a.StartedAt, &a.DurationMS, &a.Method, &a.URL, &reqH, &a.RequestBody, &a.Status,
			&rH, &a.ResponseBody, &a.Truncated, &a.Error, &a.Outcome); err != nil {
			return nil, fmt.Errorf("reading attempts of %s: %w", id, err)
		}
		_ = json.Unmarshal([]byte(reqH), &a.RequestHeaders)
		_ = json.Unmarshal([]byte(rH), &a.ResponseHeaders)
		a.StartedAt = a.StartedAt.UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}
