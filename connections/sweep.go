package connections

import (
	"context"
	"errors"
	"fmt"
)

// Sweep refreshes the tokens that expire within SweepWindow (10 minutes),
// so that calls rarely wait for a refresh. It goes through the same
// once-per-expiry path as a call, so a sweep and a call that meet refresh
// once. Connections that need a person, and paused ones, are skipped (a paused
// connection's token is refreshed on its first use after Resume); one failure does not
// stop the others, and all failures are returned together.
func (s *Service) Sweep(ctx context.Context) error {
	rows, err := s.opts.DB.QueryContext(ctx, `SELECT id, token_version FROM connections
		WHERE status = $1 AND auth_type IN ($2, $3) AND token_expires_at IS NOT NULL AND token_expires_at < $4
		AND paused_at IS NULL
		ORDER BY token_expires_at`,
		StatusConnected, AuthOAuth2Code, AuthOAuth2ClientCredentials, s.now().Add(s.opts.SweepWindow))
	if err != nil {
		return fmt.Errorf("finding tokens to refresh: %w", err)
	}
	type due struct {
		id      string
		version int64
	}
	var list []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.version); err != nil {
			rows.Close()
			return fmt.Errorf("finding tokens to refresh: %w", err)
		}
		list = append(list, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("finding tokens to refresh: %w", err)
	}
	var errs []error
	for _, d := range list {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		if _, err := s.renew(ctx, d.id, d.version); err != nil {
			if errors.Is(err, ErrNeedsReauth) {
				continue // recorded on the connection, with its event
			}
			errs = append(errs, fmt.Errorf("refreshing connection %s: %w", d.id, err))
		}
	}
	if len(list) > 0 {
		s.opts.Log.InfoContext(ctx, "token sweep", "due", len(list), "failed", len(errs))
	}
	return errors.Join(errs...)
}
