package connections

import (
	"context"
	"fmt"
	"time"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/id"
)

const (
	// lastUsedEvery bounds the last_used_at writes per connection.
	lastUsedEvery = time.Minute
	// keptRefreshes is how many refresh attempts are kept per connection.
	keptRefreshes = 20
)

// Refresh outcomes.
const (
	RefreshOK     = "ok"
	RefreshFailed = "failed"
)

// Refresh is one attempt to refresh an OAuth connection's token.
type Refresh struct {
	At time.Time `json:"at"`
	// Outcome is RefreshOK or RefreshFailed.
	Outcome string `json:"outcome"`
	// Error says why it failed in plain words (the provider's error and
	// description); never a token.
	Error string `json:"error,omitempty"`
}

// used records that a request went through c, writing last_used_at at
// most once a minute per connection: c, just read, says when it was last
// written, so the hot path stays one read and nearly never a write; the
// WHERE clause keeps processes that read it at once from all writing.
func (s *Service) used(ctx context.Context, c *Connection) {
	now := s.now()
	if !c.LastUsedAt.IsZero() && now.Sub(c.LastUsedAt) < lastUsedEvery {
		return
	}
	// A failed write only loses a last-used time; the request goes on.
	if _, err := s.opts.DB.ExecContext(context.WithoutCancel(ctx), `UPDATE connections SET last_used_at = $1
		WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)`, now, c.ID, now.Add(-lastUsedEvery)); err != nil {
		s.opts.Log.WarnContext(ctx, "recording a connection's last use", "connection_id", c.ID, "error", err)
	}
}

// recordRefresh keeps the outcome of a refresh that went to the token
// endpoint (reason "" when it worked), and drops all but the latest
// keptRefreshes of the connection.
func (s *Service) recordRefresh(ctx context.Context, connectionID, reason string) {
	ctx = context.WithoutCancel(ctx)
	outcome := RefreshOK
	if reason != "" {
		outcome = RefreshFailed
	}
	if _, err := s.opts.DB.ExecContext(ctx, `INSERT INTO connection_refreshes (id, connection_id, at, outcome, error)
		VALUES ($1, $2, $3, $4, $5)`, id.New("crf"), connectionID, s.now(), outcome, reason); err != nil {
		s.opts.Log.WarnContext(ctx, "recording a refresh", "connection_id", connectionID, "error", err)
		return
	}
	if _, err := s.opts.DB.ExecContext(ctx, `DELETE FROM connection_refreshes WHERE connection_id = $1 AND id NOT IN
		(SELECT id FROM connection_refreshes WHERE connection_id = $1 ORDER BY at DESC, id DESC LIMIT $2)`,
		connectionID, keptRefreshes); err != nil {
		s.opts.Log.WarnContext(ctx, "trimming the refreshes kept", "connection_id", connectionID, "error", err)
	}
}

// Refreshes returns the latest refresh attempts of a connection, newest
// first: at most limit (1 to 20; anything else is 20).
func (s *Service) Refreshes(ctx context.Context, connectionID string, limit int) ([]Refresh, error) {
	if limit <= 0 || limit > keptRefreshes {
		limit = keptRefreshes
	}
	if _, err := s.load(ctx, connectionID); err != nil {
		return nil, err
	}
	scan := func(row db.Row) (Refresh, error) {
		var r Refresh
		if err := row.Scan(&r.At, &r.Outcome, &r.Error); err != nil {
			return Refresh{}, err
		}
		r.At = r.At.UTC()
		return r, nil
	}
	out, _, err := db.Page(ctx, s.opts.DB, scan, limit, `SELECT at, outcome, error FROM connection_refreshes
		WHERE connection_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, connectionID, limit)
	if err != nil {
		return nil, fmt.Errorf("listing the refreshes of connection %s: %w", connectionID, err)
	}
	if out == nil {
		out = []Refresh{}
	}
	return out, nil
}
