package hooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/id"
	"github.com/liaison/liaison/internal/invalid"
)

// Webhook is an event-webhook endpoint: signed notifications of the events
// it subscribes to, platform events and Liaison's own.
type Webhook struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Enabled     bool     `json:"enabled"`
	// DisabledReason says why Liaison disabled the endpoint (410 Gone, or
	// every attempt failing for WEBHOOK_DISABLE_AFTER); "" when enabled or
	// disabled by a person.
	DisabledReason string `json:"disabled_reason"`
	// RotationEndsAt is when the previous secret stops signing, during a
	// rotation overlap.
	RotationEndsAt *time.Time `json:"rotation_ends_at,omitempty"`
	Limits
	// Circuit is the endpoint's circuit breaker: open while it is left
	// alone after timing out or refusing connections (circuit.go).
	Circuit   Circuit   `json:"circuit"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	version int64
}

// WebhookWithSecret is the answer of create and rotate: the only answers
// that show the secret.
type WebhookWithSecret struct {
	Webhook
	// Secret is the whsec_ signing secret, shown this once.
	Secret string `json:"secret"`
}

// WebhookInput creates or edits a webhook endpoint.
type WebhookInput struct {
	URL            *string   `json:"url,omitempty"`
	Description    *string   `json:"description,omitempty"`
	EventTypes     *[]string `json:"event_types,omitempty"`
	Enabled        *bool     `json:"enabled,omitempty"`
	RateLimit      *float64  `json:"rate_limit,omitempty"`
	MaxConcurrency *int      `json:"max_concurrency,omitempty"`
}

func (in WebhookInput) apply(w *Webhook) {
	if in.URL != nil {
		w.URL = strings.TrimSpace(*in.URL)
	}
	if in.Description != nil {
		w.Description = strings.TrimSpace(*in.Description)
	}
	given(&w.EventTypes, in.EventTypes)
	if in.Enabled != nil {
		w.Enabled = *in.Enabled
		if w.Enabled {
			w.DisabledReason = ""
		}
	}
	given(&w.RateLimit, in.RateLimit)
	given(&w.MaxConcurrency, in.MaxConcurrency)
}

func (w *Webhook) validate() error {
	var errs invalid.Error
	u, err := url.Parse(w.URL)
	switch {
	case w.URL == "":
		errs.Add("url", "must not be empty")
	case len(w.URL) > maxURLLen:
		errs.Add("url", "must be at most %d characters", maxURLLen)
	case err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs.Add("url", "must be an absolute http(s) URL")
	case u.User != nil:
		errs.Add("url", "must not carry credentials")
	}
	if len(w.Description) > 500 {
		errs.Add("description", "must be at most 500 characters")
	}
	validateEventTypes(&errs, w.EventTypes)
	validateLimits(&errs, w.Limits)
	return errs.Err()
}

func secretAAD(id, field string) string { return "webhook:" + id + ":" + field }

const webhookColumns = `id, url, description, event_types, enabled, disabled_reason, previous_expires_at,
	rate_limit, max_concurrency, version, created_at, updated_at`

func scanWebhook(row db.Row, now time.Time) (Webhook, error) {
	var (
		w     Webhook
		types string
		prev  sql.NullTime
	)
	if err := row.Scan(&w.ID, &w.URL, &w.Description, &types, &w.Enabled, &w.DisabledReason, &prev,
		&w.RateLimit, &w.MaxConcurrency, &w.version, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return Webhook{}, err
	}
	if err := json.Unmarshal([]byte(types), &w.EventTypes); err != nil {
		return Webhook{}, fmt.Errorf("reading webhook %s event types: %w", w.ID, err)
	}
	if prev.Valid && prev.Time.After(now) {
		t := prev.Time.UTC()
		w.RotationEndsAt = &t
	}
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	return w, nil
}

// CreateWebhook saves a new endpoint with a fresh secret, returned once.
func (s *Service) CreateWebhook(ctx context.Context, in WebhookInput) (WebhookWithSecret, error) {
	now := s.now()
	w := &Webhook{ID: id.NewHex("wh_"), Enabled: true, Circuit: Circuit{State: CircuitClosed}, CreatedAt: now, UpdatedAt: now, version: 1}
	in.apply(w)
	if err := w.validate(); err != nil {
		return WebhookWithSecret{}, err
	}
	plain, err := NewSecret()
	if err != nil {
		return WebhookWithSecret{}, err
	}
	sealed, err := s.opts.Ring.SealString(plain, secretAAD(w.ID, "secret"))
	if err != nil {
		return WebhookWithSecret{}, fmt.Errorf("sealing webhook secret: %w", err)
	}
	_, err = s.opts.DB.ExecContext(ctx, `INSERT INTO webhooks (id, url, description, event_types, enabled, disabled_reason, secret,
		rate_limit, max_concurrency, version, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,'',$6,$7,$8,$9,$10,$11)`,
		w.ID, w.URL, w.Description, jsonText(w.EventTypes), w.Enabled, sealed, w.RateLimit, w.MaxConcurrency, w.version, w.CreatedAt, w.UpdatedAt)
	if err != nil {
		return WebhookWithSecret{}, fmt.Errorf("saving webhook: %w", err)
	}
	s.targetsChanged(ctx)
	return WebhookWithSecret{Webhook: *w, Secret: plain}, nil
}

// Webhook returns one endpoint, without its secret.
func (s *Service) Webhook(ctx context.Context, id string) (Webhook, error) {
	w, err := scanWebhook(s.opts.DB.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1`, id), s.now())
	if errors.Is(err, db.ErrNoRows) {
		return Webhook{}, notFound("webhook", id)
	}
	if err != nil {
		return Webhook{}, fmt.Errorf("reading webhook %s: %w", id, err)
	}
	if w.Circuit, err = s.circuitOfKey(ctx, "webhook:"+id); err != nil {
		return Webhook{}, err
	}
	return w, nil
}

// Webhooks lists endpoints by id after the cursor.
func (s *Service) Webhooks(ctx context.Context, after string, limit int) (_ []Webhook, more bool, _ error) {
	now := s.now()
	scan := func(r db.Row) (Webhook, error) { return scanWebhook(r, now) }
	out, more, err := db.Page(ctx, s.opts.DB, scan, limit, `SELECT `+webhookColumns+` FROM webhooks WHERE id > $1 ORDER BY id LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("listing webhooks: %w", err)
	}
	err = withCircuits(ctx, s, out, func(w *Webhook) string { return "webhook:" + w.ID }, func(w *Webhook, c Circuit) { w.Circuit = c })
	return out, more, err
}

// UpdateWebhook changes what in names. Enabling an endpoint clears its
// disabled reason and its run of failures.
func (s *Service) UpdateWebhook(ctx context.Context, id string, in WebhookInput) (Webhook, error) {
	w, err := s.Webhook(ctx, id)
	if err != nil {
		return Webhook{}, err
	}
	in.apply(&w)
	if err := w.validate(); err != nil {
		return Webhook{}, err
	}
	w.UpdatedAt = s.now()
	if err := s.updateTarget(ctx, "webhook", id, `UPDATE webhooks SET url=$2, description=$3, event_types=$4, enabled=$5, disabled_reason=$6,
		rate_limit=$7, max_concurrency=$8, failing_since = CASE WHEN $5 THEN NULL ELSE failing_since END,
		version=version+1, updated_at=$9 WHERE id=$1`,
		w.ID, w.URL, w.Description, jsonText(w.EventTypes), w.Enabled, w.DisabledReason, w.RateLimit, w.MaxConcurrency, w.UpdatedAt); err != nil {
		return Webhook{}, err
	}
	return s.Webhook(ctx, id)
}

// DeleteWebhook removes an endpoint; its deliveries stay as history.
func (s *Service) DeleteWebhook(ctx context.Context, id string) error {
	return s.deleteTarget(ctx, "webhooks", "webhook", id)
}

// RotateWebhookSecret issues a new secret. The current one keeps signing
// beside it for RotationOverlap, so receivers can switch at their pace;
// a rotation during an overlap ends the older overlap.
func (s *Service) RotateWebhookSecret(ctx context.Context, id string) (WebhookWithSecret, error) {
	var out WebhookWithSecret
	err := s.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT secret FROM webhooks WHERE id = $1`+s.opts.DB.ForUpdate(), id).Scan(&current)
		if errors.Is(err, db.ErrNoRows) {
			return notFound("webhook", id)
		}
		if err != nil {
			return fmt.Errorf("reading webhook %s: %w", id, err)
		}
		plain, err := s.opener().open(current, id, "secret")
		if err != nil {
			return err
		}
		prevSealed, err := s.opts.Ring.SealString(plain, secretAAD(id, "previous_secret"))
		if err != nil {
			return fmt.Errorf("sealing webhook secret: %w", err)
		}
		fresh, err := NewSecret()
		if err != nil {
			return err
		}
		sealed, err := s.opts.Ring.SealString(fresh, secretAAD(id, "secret"))
		if err != nil {
			return fmt.Errorf("sealing webhook secret: %w", err)
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET secret=$2, previous_secret=$3, previous_expires_at=$4, version=version+1, updated_at=$5 WHERE id=$1`,
			id, sealed, prevSealed, now.Add(s.opts.RotationOverlap), now); err != nil {
			return fmt.Errorf("rotating webhook %s secret: %w", id, err)
		}
		out.Secret = fresh
		return nil
	})
	if err != nil {
		return WebhookWithSecret{}, err
	}
	w, err := s.Webhook(ctx, id)
	if err != nil {
		return WebhookWithSecret{}, err
	}
	out.Webhook = w
	return out, nil
}

type secretOpener struct{ s *Service }

func (s *Service) opener() secretOpener { return secretOpener{s} }

func (o secretOpener) open(sealed, id, field string) (string, error) {
	plain, err := o.s.opts.Ring.OpenString(sealed, secretAAD(id, field))
	if err != nil {
		return "", fmt.Errorf("opening webhook %s %s: %w", id, field, err)
	}
	return plain, nil
}
