package send

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/liaison/liaison/internal/db"
)

// Attempt is one HTTP request of a delivery or a call, as it was sent (secrets
// removed) and as it was answered (capped).
type Attempt struct {
	Number          int               `json:"number"`
	StartedAt       time.Time         `json:"started_at"`
	DurationMS      float64           `json:"duration_ms"`
	Method          string            `json:"method"`
	URL             string            `json:"url"`
	RequestHeaders  map[string]string `json:"request_headers"`
	RequestBody     string            `json:"request_body"`
	Status          int               `json:"status,omitempty"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    string            `json:"response_body"`
	// Truncated says a body excerpt was cut: at the storage cap, or where
	// the answer stopped coming (Error says so).
	Truncated bool `json:"truncated"`
	// Error is what went wrong, in plain words; "" for an answer that was
	// classified on its status alone.
	Error string `json:"error,omitempty"`
	// Outcome is succeeded, retry, fail or disable.
	Outcome string `json:"outcome"`
}

// Attempts of deliveries and of calls share one table; an attempt names its
// owner in delivery_id or in call_id.

// AttemptColumns are an attempt's columns after its owner's, in the order
// of AttemptArgs.
const AttemptColumns = `number, started_at, duration_ms, method, url, request_headers, request_body,
	status, response_headers, response_body, truncated, error, outcome`

// AttemptInsert is the statement that inserts an attempt owned by
// ownerColumn (delivery_id or call_id), with AttemptArgs.
func AttemptInsert(ownerColumn string) string {
	return `INSERT INTO attempts (` + ownerColumn + `, ` + AttemptColumns + `) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`
}

// AttemptArgs are the 14 arguments of an AttemptInsert.
func AttemptArgs(owner string, a Attempt) []any {
	return []any{owner, a.Number, a.StartedAt, a.DurationMS, a.Method, a.URL, jsonText(a.RequestHeaders), a.RequestBody,
		a.Status, jsonText(a.ResponseHeaders), a.ResponseBody, a.Truncated, a.Error, a.Outcome}
}

// Attempts reads the attempts of a delivery or a call, oldest first.
func Attempts(ctx context.Context, q db.Querier, ownerColumn, id string) ([]Attempt, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+AttemptColumns+` FROM attempts WHERE `+ownerColumn+` = $1 ORDER BY number`, id)
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

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
