package hooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/liaison/liaison/hooks/send"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/id"
	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/jsoncheck"
	"github.com/liaison/liaison/internal/secret"
)

// Hook is an action hook: an HTTP call made for every matching event,
// through a connection or to a plain public URL, its JSON body rendered
// from the event.
type Hook struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	EventTypes []string `json:"event_types"`
	Filter     *Filter  `json:"filter,omitempty"`
	// ConnectionID is the connection the call goes through; "" for a plain
	// public URL.
	ConnectionID string `json:"connection_id"`
	Method       string `json:"method"`
	// URL is a path relative to the connection's base URL, or an absolute
	// URL (on the connection's hosts, or any public URL without one).
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers" openapi:"sealed-headers"`
	// Body is the JSON body template; null sends no body.
	Body json.RawMessage `json:"body,omitempty"`
	// Missing is what a path without a value renders as: "null" (a lone
	// placeholder becomes null, an interpolated one nothing) or "fail" (the
	// delivery fails).
	Missing MissingPolicy `json:"missing"`
	Enabled bool          `json:"enabled"`
	// MaxAttempts overrides the number of attempts of the schedule; 0
	// keeps the schedule's.
	MaxAttempts int `json:"max_attempts"`
	// Retry4xx retries 4xx answers other than 408/410/425/429, which fail at
	// once otherwise.
	Retry4xx bool `json:"retry_4xx"`
	// TimeoutMS bounds one attempt; 0 is the default (30 s).
	TimeoutMS int `json:"timeout_ms"`
	Limits
	// Circuit is the breaker the hook's deliveries go through: its
	// connection's (shared with whatever else is sent through the
	// connection) when it has one, its own otherwise.
	Circuit   Circuit   `json:"circuit"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	version   int64
}

// HookInput creates or edits a hook. Every field is a pointer so that an
// edit changes only what it names.
type HookInput struct {
	Name           *string            `json:"name,omitempty"`
	EventTypes     *[]string          `json:"event_types,omitempty"`
	Filter         *Filter            `json:"filter,omitempty"`
	ConnectionID   *string            `json:"connection_id,omitempty"`
	Method         *string            `json:"method,omitempty"`
	URL            *string            `json:"url,omitempty"`
	Headers        *map[string]string `json:"headers,omitempty" openapi:"sealed-headers"`
	Body           json.RawMessage    `json:"body,omitempty"`
	Missing        *string            `json:"missing,omitempty"`
	Enabled        *bool              `json:"enabled,omitempty"`
	MaxAttempts    *int               `json:"max_attempts,omitempty"`
	Retry4xx       *bool              `json:"retry_4xx,omitempty"`
	TimeoutMS      *int               `json:"timeout_ms,omitempty"`
	RateLimit      *float64           `json:"rate_limit,omitempty"`
	MaxConcurrency *int               `json:"max_concurrency,omitempty"`
}

// Limits of user input.
const (
	maxNameLen       = 200
	maxEventTypes    = 50
	maxHeaders       = 50
	maxBodyTemplate  = 64 << 10
	maxURLLen        = 2048
	maxTimeoutMS     = 120_000
	maxAttemptsLimit = send.MaxScheduleAttempts
)

// headersNotSet are headers a hook may not set: the connection and the
// transport own them, and Idempotency-Key is the delivery id.
var headersNotSet = map[string]bool{
	"Authorization": true, "Host": true, "Content-Length": true, "Transfer-Encoding": true,
	"Connection": true, "Cookie": true, "Proxy-Authorization": true, "Idempotency-Key": true,
	"User-Agent": true, "Webhook-Id": true, "Webhook-Timestamp": true, "Webhook-Signature": true,
}

func (in HookInput) apply(h *Hook) {
	if in.Name != nil {
		h.Name = strings.TrimSpace(*in.Name)
	}
	given(&h.EventTypes, in.EventTypes)
	if in.Filter != nil {
		h.Filter = in.Filter
		if len(in.Filter.All)+len(in.Filter.Any) == 0 {
			h.Filter = nil
		}
	}
	if in.ConnectionID != nil {
		h.ConnectionID = strings.TrimSpace(*in.ConnectionID)
	}
	if in.Method != nil {
		h.Method = strings.ToUpper(strings.TrimSpace(*in.Method))
	}
	if in.URL != nil {
		h.URL = strings.TrimSpace(*in.URL)
	}
	if in.Headers != nil {
		// An edit may send back the masked values an answer showed: they
		// keep the stored ones.
		h.Headers = secret.KeepMaskedHeaders(h.Headers, *in.Headers)
	}
	if in.Body != nil {
		if string(in.Body) == "null" {
			h.Body = nil
		} else {
			h.Body = in.Body
		}
	}
	if in.Missing != nil {
		h.Missing, _ = ParseMissingPolicy(*in.Missing) // validated before
	}
	given(&h.Enabled, in.Enabled)
	given(&h.MaxAttempts, in.MaxAttempts)
	given(&h.Retry4xx, in.Retry4xx)
	given(&h.TimeoutMS, in.TimeoutMS)
	given(&h.RateLimit, in.RateLimit)
	given(&h.MaxConcurrency, in.MaxConcurrency)
}

// validate checks a hook as it would be saved and reports every bad field.
func (h *Hook) validate(in HookInput) error {
	var errs invalid.Error
	if in.Missing != nil {
		if _, err := ParseMissingPolicy(*in.Missing); err != nil {
			errs.Add("missing", `must be "null" or "fail"`)
		}
	}
	if h.Name == "" {
		errs.Add("name", "must not be empty")
	} else if len(h.Name) > maxNameLen {
		errs.Add("name", "must be at most %d characters", maxNameLen)
	}
	validateEventTypes(&errs, h.EventTypes)
	if h.Filter != nil {
		if err := h.Filter.Validate(); err != nil {
			addFieldErrors(&errs, err)
		}
	}
	switch h.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		errs.Add("method", "must be GET, POST, PUT, PATCH or DELETE")
	}
	validateHookURL(&errs, h.URL, h.ConnectionID != "")
	if len(h.Headers) > maxHeaders {
		errs.Add("headers", "at most %d headers", maxHeaders)
	}
	for k, v := range h.Headers {
		switch {
		case !validHeaderName(k):
			errs.Add("headers."+k, "is not a valid header name")
		case headersNotSet[http.CanonicalHeaderKey(k)]:
			errs.Add("headers."+k, "is set by Liaison (the connection, the transport or the delivery id), not by the hook")
		case strings.ContainsAny(v, "\r\n\x00"):
			errs.Add("headers."+k, "must not contain line breaks")
		}
	}
	if h.Body != nil {
		if len(h.Body) > maxBodyTemplate {
			errs.Add("body", "is larger than %d bytes", maxBodyTemplate)
		} else if flaw := jsoncheck.Check(h.Body, jsoncheck.Text); flaw != nil && flaw.Kind != jsoncheck.Syntax {
			// Text: the template is kept as text and sent as written, so
			// \u0000 may be written out; what is not UTF-8 cannot be kept.
			errs.Add("body", "%s", flaw.Error())
		} else if _, err := CompileTemplate(h.Body, h.Missing); err != nil {
			addFieldErrors(&errs, err)
		}
	}
	if h.MaxAttempts < 0 || h.MaxAttempts > maxAttemptsLimit {
		errs.Add("max_attempts", "must be from 0 (the schedule's) to %d", maxAttemptsLimit)
	}
	if h.TimeoutMS < 0 || h.TimeoutMS > maxTimeoutMS {
		errs.Add("timeout_ms", "must be from 0 (the default, 30 s) to %d", maxTimeoutMS)
	}
	validateLimits(&errs, h.Limits)
	return errs.Err()
}

func validateLimits(errs *invalid.Error, l Limits) {
	if l.RateLimit < 0 || l.RateLimit > 10_000 {
		errs.Add("rate_limit", "must be from 0 (unlimited) to 10000 requests per second")
	}
	if l.MaxConcurrency < 0 || l.MaxConcurrency > 10_000 {
		errs.Add("max_concurrency", "must be from 0 (unlimited) to 10000")
	}
}

func validateEventTypes(errs *invalid.Error, types []string) {
	if len(types) == 0 {
		errs.Add("event_types", `must name at least one event type or pattern ("email.opened", "email.*", "*")`)
	}
	if len(types) > maxEventTypes {
		errs.Add("event_types", "at most %d", maxEventTypes)
	}
	for i, p := range types {
		if !ValidEventPattern(p) {
			errs.Add("event_types["+strconv.Itoa(i)+"]", `%q is not an event type ("email.opened") or pattern ("email.*", "*")`, p)
		}
	}
}

func validateHookURL(errs *invalid.Error, raw string, withConnection bool) {
	if raw == "" {
		errs.Add("url", "must not be empty")
		return
	}
	if len(raw) > maxURLLen {
		errs.Add("url", "must be at most %d characters", maxURLLen)
		return
	}
	u, err := url.Parse(raw)
	if err != nil {
		errs.Add("url", "is not a URL")
		return
	}
	if u.IsAbs() {
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.Add("url", "must be an http(s) URL")
		} else if u.User != nil {
			errs.Add("url", "must not carry credentials; put them in a connection")
		}
		return
	}
	if !withConnection {
		errs.Add("url", "must be an absolute http(s) URL when the hook has no connection (a path needs a connection's base URL)")
	}
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlpha(c) || isDigit(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// addFieldErrors turns *FieldError values (joined or single) into fields.
func addFieldErrors(errs *invalid.Error, err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			addFieldErrors(errs, e)
		}
		return
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		errs.Add(fe.Field, "%s", fe.Err.Error())
		return
	}
	errs.Add("body", "%s", err.Error())
}

const hookColumns = `id, name, event_types, filter, connection_id, method, url, headers, body, missing,
	enabled, max_attempts, retry_4xx, timeout_ms, rate_limit, max_concurrency, version, created_at, updated_at`

// MarshalJSON shows the hook with its header values masked but those of
// secret.PlainHeaders, as every answer must.
func (h Hook) MarshalJSON() ([]byte, error) {
	type plain Hook
	masked := plain(h)
	masked.Headers = secret.MaskHeaders(h.Headers)
	return json.Marshal(masked)
}

// A hook's headers are stored sealed as one set (secret.Ring.SealHeaders),
// bound to the hook.
func headersAAD(hookID string) string { return "hook:" + hookID + ":headers" }

func (s *Service) storedHeaders(h *Hook) (string, error) {
	sealed, err := s.opts.Ring.SealHeaders(h.Headers, headersAAD(h.ID))
	if err != nil {
		return "", fmt.Errorf("sealing hook %s headers: %w", h.ID, err)
	}
	return sealed, nil
}

// hookHeaders reads a hook's stored headers, either form.
func (s *Service) hookHeaders(hookID, stored string) (map[string]string, error) {
	h, err := s.opts.Ring.OpenHeaders(stored, headersAAD(hookID))
	if err != nil {
		return nil, fmt.Errorf("opening hook %s headers: %w", hookID, err)
	}
	return h, nil
}

func (s *Service) scanHook(row db.Row) (Hook, error) {
	var (
		h                          Hook
		types, headers, body, miss string
		filter                     sql.NullString
	)
	if err := row.Scan(&h.ID, &h.Name, &types, &filter, &h.ConnectionID, &h.Method, &h.URL, &headers, &body, &miss,
		&h.Enabled, &h.MaxAttempts, &h.Retry4xx, &h.TimeoutMS, &h.RateLimit, &h.MaxConcurrency, &h.version, &h.CreatedAt, &h.UpdatedAt); err != nil {
		return Hook{}, err
	}
	if err := json.Unmarshal([]byte(types), &h.EventTypes); err != nil {
		return Hook{}, fmt.Errorf("reading hook %s event types: %w", h.ID, err)
	}
	if filter.Valid && filter.String != "" && filter.String != "null" {
		h.Filter = &Filter{}
		dec := json.NewDecoder(strings.NewReader(filter.String))
		dec.UseNumber()
		if err := dec.Decode(h.Filter); err != nil {
			return Hook{}, fmt.Errorf("reading hook %s filter: %w", h.ID, err)
		}
	}
	var err error
	if h.Headers, err = s.hookHeaders(h.ID, headers); err != nil {
		return Hook{}, err
	}
	if body != "" {
		h.Body = json.RawMessage(body)
	}
	h.Missing, _ = ParseMissingPolicy(miss)
	h.CreatedAt, h.UpdatedAt = h.CreatedAt.UTC(), h.UpdatedAt.UTC()
	return h, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func nullableJSON(v any, isNil bool) any {
	if isNil {
		return nil
	}
	return jsonText(v)
}

// CreateHook saves a new hook. Unset fields take defaults: method POST,
// enabled, missing "null".
func (s *Service) CreateHook(ctx context.Context, in HookInput) (Hook, error) {
	now := s.now()
	h := &Hook{ID: id.NewHex("hook_"), Method: http.MethodPost, Enabled: true, Headers: map[string]string{}, CreatedAt: now, UpdatedAt: now, version: 1}
	in.apply(h)
	if h.Headers == nil {
		h.Headers = map[string]string{}
	}
	if err := h.validate(in); err != nil {
		return Hook{}, err
	}
	headers, err := s.storedHeaders(h)
	if err != nil {
		return Hook{}, err
	}
	_, err = s.opts.DB.ExecContext(ctx, `INSERT INTO hooks (`+hookColumns+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)`,
		h.ID, h.Name, jsonText(h.EventTypes), nullableJSON(h.Filter, h.Filter == nil), h.ConnectionID, h.Method, h.URL, headers,
		string(h.Body), h.Missing.String(), h.Enabled, h.MaxAttempts, h.Retry4xx, h.TimeoutMS, h.RateLimit, h.MaxConcurrency, h.version, h.CreatedAt, h.UpdatedAt)
	if err != nil {
		return Hook{}, fmt.Errorf("saving hook: %w", err)
	}
	s.targetsChanged(ctx)
	if h.Circuit, err = s.circuitOfKey(ctx, hookCircuitKey(h)); err != nil {
		return Hook{}, err
	}
	return *h, nil
}

// Hook returns one hook.
func (s *Service) Hook(ctx context.Context, id string) (Hook, error) {
	h, err := s.scanHook(s.opts.DB.QueryRowContext(ctx, `SELECT `+hookColumns+` FROM hooks WHERE id = $1`, id))
	if errors.Is(err, db.ErrNoRows) {
		return Hook{}, notFound("hook", id)
	}
	if err != nil {
		return Hook{}, fmt.Errorf("reading hook %s: %w", id, err)
	}
	if h.Circuit, err = s.circuitOfKey(ctx, hookCircuitKey(&h)); err != nil {
		return Hook{}, err
	}
	return h, nil
}

// Hooks lists hooks by id after the cursor; more says whether a next page exists.
func (s *Service) Hooks(ctx context.Context, after string, limit int) (_ []Hook, more bool, _ error) {
	out, more, err := db.Page(ctx, s.opts.DB, s.scanHook, limit, `SELECT `+hookColumns+` FROM hooks WHERE id > $1 ORDER BY id LIMIT $2`, after, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("listing hooks: %w", err)
	}
	err = withCircuits(ctx, s, out, func(h *Hook) string { return hookCircuitKey(h) }, func(h *Hook, c Circuit) { h.Circuit = c })
	return out, more, err
}

// UpdateHook changes what in names.
func (s *Service) UpdateHook(ctx context.Context, id string, in HookInput) (Hook, error) {
	h, err := s.Hook(ctx, id)
	if err != nil {
		return Hook{}, err
	}
	in.apply(&h)
	if err := h.validate(in); err != nil {
		return Hook{}, err
	}
	h.UpdatedAt = s.now()
	headers, err := s.storedHeaders(&h)
	if err != nil {
		return Hook{}, err
	}
	if err := s.updateTarget(ctx, "hook", id, `UPDATE hooks SET name=$2, event_types=$3, filter=$4, connection_id=$5, method=$6, url=$7, headers=$8,
		body=$9, missing=$10, enabled=$11, max_attempts=$12, retry_4xx=$13, timeout_ms=$14, rate_limit=$15, max_concurrency=$16,
		version=version+1, updated_at=$17 WHERE id=$1`,
		h.ID, h.Name, jsonText(h.EventTypes), nullableJSON(h.Filter, h.Filter == nil), h.ConnectionID, h.Method, h.URL, headers,
		string(h.Body), h.Missing.String(), h.Enabled, h.MaxAttempts, h.Retry4xx, h.TimeoutMS, h.RateLimit, h.MaxConcurrency, h.UpdatedAt); err != nil {
		return Hook{}, err
	}
	return s.Hook(ctx, id)
}

// DeleteHook removes a hook. Its deliveries stay as history; those still
// waiting fail with "hook deleted" when their turn comes.
func (s *Service) DeleteHook(ctx context.Context, id string) error {
	return s.deleteTarget(ctx, "hooks", "hook", id)
}

// updateTarget runs query, which updates the hook or webhook endpoint id
// (what names which), and tells the matching cache.
func (s *Service) updateTarget(ctx context.Context, what, id, query string, args ...any) error {
	res, err := s.opts.DB.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("updating %s %s: %w", what, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(what, id)
	}
	s.targetsChanged(ctx)
	return nil
}

// deleteTarget removes the hook or webhook endpoint id from table.
func (s *Service) deleteTarget(ctx context.Context, table, what, id string) error {
	res, err := s.opts.DB.ExecContext(ctx, `DELETE FROM `+table+` WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("deleting %s %s: %w", what, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(what, id)
	}
	s.compiled.Delete(id)
	s.targetsChanged(ctx)
	return nil
}

// Limits and checks of an action hook's request, which other requests
// through a connection share.
const (
	MaxHeaders   = maxHeaders
	MaxURLLen    = maxURLLen
	MaxTimeoutMS = maxTimeoutMS
)

// ValidHeaderName reports whether s may be a header's name.
func ValidHeaderName(s string) bool { return validHeaderName(s) }

// ValidSecret says what is wrong with a whsec_ signing secret (an error
// wrapping ErrInvalidSecret), nil when nothing is.
func ValidSecret(secret string) error {
	_, err := decodeSecret(secret)
	return err
}

// given sets *dst to *v when an edit gives v (PATCH changes only what it
// names).
func given[T any](dst, v *T) {
	if v != nil {
		*dst = *v
	}
}
