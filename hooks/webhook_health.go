package hooks

import (
	"context"
	"fmt"
	"time"

	"github.com/liaison/liaison/hooks/send"
)

// An event webhook's health: an endpoint whose attempts all fail for
// longer than DisableAfter, or that answers 410 Gone, is disabled, and
// webhook.disabled says so.

// trackWebhook keeps an endpoint's run of failures: a success ends it, a
// failure starts it, and a run longer than DisableAfter, or a 410, disables
// the endpoint and says so with webhook.disabled.
func (s *Service) trackWebhook(ctx context.Context, l *loaded, outcome send.Outcome, now time.Time) error {
	switch {
	case outcome == send.Succeeded:
		if l.wFailingSince.Valid {
			_, err := s.opts.DB.ExecContext(ctx, `UPDATE webhooks SET failing_since=NULL WHERE id=$1`, l.targetID)
			return err
		}
		return nil
	case outcome == send.Disable:
		return s.disableWebhook(ctx, l, "the endpoint answered 410 Gone", now)
	case !l.wFailingSince.Valid:
		_, err := s.opts.DB.ExecContext(ctx, `UPDATE webhooks SET failing_since=$2 WHERE id=$1 AND failing_since IS NULL`, l.targetID, now)
		return err
	case now.Sub(l.wFailingSince.Time) >= s.opts.DisableAfter:
		return s.disableWebhook(ctx, l, fmt.Sprintf("every attempt failed for %s (since %s)", s.opts.DisableAfter, l.wFailingSince.Time.UTC().Format(time.RFC3339)), now)
	}
	return nil
}

func (s *Service) disableWebhook(ctx context.Context, l *loaded, reason string, now time.Time) error {
	res, err := s.opts.DB.ExecContext(ctx, `UPDATE webhooks SET enabled=FALSE, disabled_reason=$2, version=version+1, updated_at=$3 WHERE id=$1 AND enabled`,
		l.targetID, reason, now)
	if err != nil {
		return fmt.Errorf("disabling webhook %s: %w", l.targetID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // disabled already, by a person or another worker
	}
	s.targetsChanged(ctx)
	s.opts.Log.WarnContext(ctx, "webhook endpoint disabled", "webhook_id", l.targetID, "reason", reason)
	return s.Record(ctx, EventWebhookDisabled, map[string]any{
		"webhook_id": l.targetID, "url": l.wURL.String, "description": l.wDescr.String, "reason": reason,
	})
}
