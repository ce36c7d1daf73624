package calls

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/send"
	"github.com/liaison/liaison/internal/db"
	ids "github.com/liaison/liaison/internal/id"
	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/jsoncheck"
)

// API-call nodes. An automation scenario step asks Liaison to make one HTTP
// call through a connection (POST /v1/calls) and takes the answer: at once
// when it waits for it (up to MaxCallWait), later by reading the call or
// through a signed callback. A call goes through the same executor as
// deliveries (exchange: the connection's credentials, refresh and allowed
// hosts, the outbound guard), its attempts are rows of the same attempts
// table, its retries follow a Schedule with the same classification and
// Retry-After handling, and asynq is again only the timer (RunCall). What
// differs: the schedule is short (DefaultSchedule, about an hour: a scenario
// step is worth little a day later), a 429 answer waits without using up an
// attempt, the limits are the connection's, and the callback of a call that
// ended is a delivery of the event call.completed to the callback URL,
// signed like an event webhook with the secret the call gave.

// Call states.
const (
	CallQueued    = "queued"
	CallRunning   = "running"
	CallRetrying  = send.StatusRetrying
	CallPostponed = "postponed" // the connection needs reauthorization
	CallSucceeded = send.StatusSucceeded
	CallFailed    = send.StatusFailed
)

// EventCallCompleted is the event whose delivery is a call's callback.
// Its data is the call as GET /v1/calls/{id} shows it, without attempts.
const EventCallCompleted = "call.completed"

// Limits of a call.
const (
	// MaxCallWait is the longest a POST /v1/calls may wait for the result.
	MaxCallWait = 30 * time.Second
	// MaxCallBody is the largest request body a call may send.
	MaxCallBody = 256 << 10
	// MaxCallScheduleSpan bounds a call's own retry schedule: API-call
	// nodes cannot wait a day.
	MaxCallScheduleSpan = 6 * time.Hour
	// maxCallResponse is how much of an answer a call keeps (and shows).
	maxCallResponse = 64 << 10
	// maxFreeRateLimits is how many 429 answers a call may get without
	// using up an attempt; past it a 429 counts like any failure, so a
	// service that never stops saying 429 cannot hold a call forever.
	maxFreeRateLimits = 10
	// minRateLimitWait is the least a 429 makes a call wait.
	minRateLimitWait  = time.Second
	maxIdempotencyKey = 255
	maxQueryParams    = 50
)

// callMethods are the methods a call may use.
var callMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// callHeadersNotSet are headers a call may not set: the connection and the
// transport own them.
var callHeadersNotSet = map[string]bool{
	"Authorization": true, "Host": true, "Content-Length": true, "Transfer-Encoding": true,
	"Connection": true, "Cookie": true, "Proxy-Authorization": true, "User-Agent": true,
}

// CallInput is POST /v1/calls.
type CallInput struct {
	ConnectionID string `json:"connection_id"`
	// Method is an HTTP method: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS.
	Method string `json:"method"`
	// Path is relative to the connection's base URL ("contacts",
	// "/v2/contacts?x=1"), or an absolute URL on one of its allowed hosts.
	Path string `json:"path"`
	// Query parameters are added to the path's.
	Query   map[string]string `json:"query,omitempty"`
	Headers map[string]string `json:"headers,omitempty" openapi:"sealed-headers"`
	// Body is sent as JSON, unless headers give a Content-Type that is not
	// JSON: then it must be a JSON string, sent as it is (raw).
	Body json.RawMessage `json:"body,omitempty"`
	// IdempotencyKey: the same key with the same request is the same call.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// CallbackURL gets the result when the call ends, signed per Standard
	// Webhooks with CallbackSecret (a whsec_ secret the receiver knows).
	CallbackURL    string `json:"callback_url,omitempty"`
	CallbackSecret string `json:"callback_secret,omitempty"`
	// Wait is how many seconds (0 to 30) the answer may wait for the result.
	Wait float64 `json:"wait,omitempty"`
	// TimeoutMS bounds one attempt; 0 is the default (30 s).
	TimeoutMS int `json:"timeout_ms,omitempty"`
	// Retry replaces the default retry policy (CALL_SCHEDULE).
	Retry *RetryPolicy `json:"retry,omitempty"`
}

// WaitFor is Wait as a duration.
func (in CallInput) WaitFor() time.Duration {
	return time.Duration(in.Wait * float64(time.Second))
}

// RetryPolicy is a call's own retry policy.
type RetryPolicy struct {
	// Schedule is the wait before each attempt, as Go durations
	// (["0s","10s","1m"]); its length is the number of attempts. Default
	// CALL_SCHEDULE. It may not add up to more than MaxCallScheduleSpan.
	Schedule []string `json:"schedule,omitempty"`
	// MaxAttempts cuts the schedule, or repeats its last step; 0 keeps it.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// Retry4xx retries 4xx answers other than 408/425/429, which fail the
	// call at once otherwise.
	Retry4xx bool `json:"retry_4xx,omitempty"`
}

// Call is an API call as answers show it.
type Call struct {
	ID             string `json:"id"`
	State          string `json:"state"`
	ConnectionID   string `json:"connection_id"`
	Method         string `json:"method"`
	Path           string `json:"path"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Response is the remote answer that ended the call; null before it
	// ended, or when its last attempt got no answer.
	Response *CallResponse `json:"response"`
	// AttemptCount counts the requests made; Attempts lists them (not in
	// the callback, which has the answer that counts).
	AttemptCount  int             `json:"attempt_count"`
	Attempts      []hooks.Attempt `json:"attempts"`
	LastError     string          `json:"last_error,omitempty"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"`
	// Callback is where the result goes, and how that went.
	Callback   *CallCallback `json:"callback,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
	FinishedAt *time.Time    `json:"finished_at,omitempty"`
}

// callResult is a call as its callback carries it: without attempts.
type callResult struct {
	Call
	Attempts []hooks.Attempt `json:"attempts,omitempty"` // shadows Call.Attempts
}

// CallResponse is a remote answer: status, headers (secrets removed) and
// body, cut at 64 KiB (truncated says so).
type CallResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	// JSON is the body decoded, when the answer is complete JSON.
	JSON      json.RawMessage `json:"json,omitempty"`
	Truncated bool            `json:"truncated"`
}

// CallCallback is the delivery of a call's result to its callback URL.
type CallCallback struct {
	URL string `json:"url"`
	// DeliveryID and Status appear once the call ended: the delivery, with
	// its attempts, is at GET /v1/deliveries/{delivery_id}.
	DeliveryID string `json:"delivery_id,omitempty"`
	Status     string `json:"status,omitempty"`
}

// Finished reports whether the call has ended.
func (c Call) Finished() bool { return c.State == CallSucceeded || c.State == CallFailed }

// preparedCall is a validated call, normalised, ready to store.
type preparedCall struct {
	connectionID, method, path string
	query, headers             map[string]string
	body                       []byte // nil: no body
	callbackURL, secret        string
	schedule                   hooks.Schedule
	retry4xx                   bool
	timeoutMS                  int
	key                        string
	hash                       string
}

func callSecretAAD(id string) string { return "call:" + id + ":callback_secret" }

// callHeadersAAD binds a call's sealed headers to the call.
func callHeadersAAD(id string) string { return "call:" + id + ":headers" }

// prepareCall validates in, reporting every bad field, and normalises it.
func (s *Service) prepareCall(ctx context.Context, in CallInput) (*preparedCall, error) {
	var errs invalid.Error
	p := &preparedCall{
		connectionID: strings.TrimSpace(in.ConnectionID), method: strings.ToUpper(strings.TrimSpace(in.Method)),
		path: strings.TrimSpace(in.Path), query: in.Query, headers: map[string]string{}, callbackURL: strings.TrimSpace(in.CallbackURL),
		secret: in.CallbackSecret, retry4xx: in.Retry != nil && in.Retry.Retry4xx, timeoutMS: in.TimeoutMS, key: in.IdempotencyKey,
	}
	if p.query == nil {
		p.query = map[string]string{}
	}

	if p.connectionID == "" {
		errs.Add("connection_id", "is required: the connection the call goes through")
	} else if _, _, found, err := s.opts.Connections.Limits(ctx, p.connectionID); err != nil {
		return nil, err
	} else if !found {
		errs.Add("connection_id", "there is no connection %q", p.connectionID)
	}

	switch {
	case p.method == "":
		errs.Add("method", "is required: one of %s", strings.Join(callMethods, ", "))
	case !slices.Contains(callMethods, p.method):
		errs.Add("method", "%q is not an HTTP method; use one of %s", in.Method, strings.Join(callMethods, ", "))
	}
	validateCallPath(&errs, p.path)
	if len(p.query) > maxQueryParams {
		errs.Add("query", "at most %d parameters", maxQueryParams)
	}
	for k := range p.query {
		if k == "" {
			errs.Add("query", "has a parameter without a name")
		}
	}

	if len(in.Headers) > hooks.MaxHeaders {
		errs.Add("headers", "at most %d headers", hooks.MaxHeaders)
	}
	for k, v := range in.Headers {
		ck := http.CanonicalHeaderKey(k)
		switch {
		case !hooks.ValidHeaderName(k):
			errs.Add("headers."+k, "is not a valid header name")
		case callHeadersNotSet[ck]:
			errs.Add("headers."+k, "is set by Liaison (the connection or the transport), not by the call")
		case strings.ContainsAny(v, "\r\n\x00"):
			errs.Add("headers."+k, "must not contain line breaks")
		default:
			if _, twice := p.headers[ck]; twice {
				errs.Add("headers."+k, "is given twice (header names are not case-sensitive)")
			}
			p.headers[ck] = v
		}
	}
	p.body = callBody(&errs, in.Body, p.headers)

	if len(p.key) > maxIdempotencyKey {
		errs.Add("idempotency_key", "must be at most %d characters", maxIdempotencyKey)
	} else if strings.ContainsFunc(p.key, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		errs.Add("idempotency_key", "must not contain control characters")
	}

	switch {
	case p.callbackURL != "":
		validateCallbackURL(&errs, p.callbackURL)
		if p.secret == "" {
			errs.Add("callback_secret", "is required with callback_url: the whsec_ secret the receiver verifies the callback's signature with")
		} else if err := hooks.ValidSecret(p.secret); err != nil {
			errs.Add("callback_secret", "%s", strings.TrimPrefix(err.Error(), hooks.ErrInvalidSecret.Error()+": "))
		}
	case p.secret != "":
		errs.Add("callback_secret", "is only used with callback_url")
	}

	if in.Wait < 0 || in.Wait > MaxCallWait.Seconds() {
		errs.Add("wait", "must be from 0 to %d seconds", int(MaxCallWait.Seconds()))
	}
	if p.timeoutMS < 0 || p.timeoutMS > hooks.MaxTimeoutMS {
		errs.Add("timeout_ms", "must be from 0 (the default, 30 s) to %d", hooks.MaxTimeoutMS)
	}
	p.schedule = s.callSchedule(&errs, in.Retry)

	if err := errs.Err(); err != nil {
		return nil, err
	}
	p.hash = p.requestHash(in.Retry)
	return p, nil
}

func validateCallPath(errs *invalid.Error, raw string) {
	const want = "must be a path relative to the connection's base URL (\"contacts\", \"/v2/contacts?page=2\") or an absolute http(s) URL on one of its hosts"
	if raw == "" {
		errs.Add("path", "is required: %s", strings.TrimPrefix(want, "must be "))
		return
	}
	if len(raw) > hooks.MaxURLLen {
		errs.Add("path", "must be at most %d characters", hooks.MaxURLLen)
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		errs.Add("path", "%s", want)
	case u.Fragment != "":
		errs.Add("path", "must not have a #fragment")
	case u.IsAbs() && ((u.Scheme != "http" && u.Scheme != "https") || u.Host == ""):
		errs.Add("path", "%s", want)
	case u.User != nil:
		errs.Add("path", "must not carry credentials; they belong to the connection")
	}
}

func validateCallbackURL(errs *invalid.Error, raw string) {
	u, err := url.Parse(raw)
	switch {
	case len(raw) > hooks.MaxURLLen:
		errs.Add("callback_url", "must be at most %d characters", hooks.MaxURLLen)
	case err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs.Add("callback_url", "must be an absolute http(s) URL")
	case u.User != nil:
		errs.Add("callback_url", "must not carry credentials")
	}
}

// callBody turns the body field into the bytes to send: JSON as given
// (compacted), or, with a Content-Type that is not JSON, the contents of a
// JSON string. A JSON body without a Content-Type gets application/json.
func callBody(errs *invalid.Error, raw json.RawMessage, headers map[string]string) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	ct, hasType := headers["Content-Type"]
	var body []byte
	if !hasType || isJSONType(ct) {
		if flaw := jsoncheck.Check(raw, jsoncheck.Text); flaw != nil && flaw.Kind != jsoncheck.Syntax {
			errs.Add("body", "%s", flaw.Error())
			return nil
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			errs.Add("body", "is not JSON")
			return nil
		}
		body = buf.Bytes()
		if !hasType {
			headers["Content-Type"] = "application/json"
		}
	} else {
		var text string
		if err := json.Unmarshal(raw, &text); err != nil {
			errs.Add("body", "must be a JSON string holding the raw body, since Content-Type %q is not JSON", ct)
			return nil
		}
		if strings.ContainsRune(text, 0) {
			errs.Add("body", "must not contain NUL characters")
			return nil
		}
		body = []byte(text)
	}
	if len(body) > MaxCallBody {
		errs.Add("body", "is %d bytes; at most %d may be sent", len(body), MaxCallBody)
		return nil
	}
	return body
}

func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// callSchedule is the call's retry schedule: CALL_SCHEDULE, or the one it
// gives, cut or stretched to max_attempts.
func (s *Service) callSchedule(errs *invalid.Error, r *RetryPolicy) hooks.Schedule {
	sched := s.opts.Schedule
	if r == nil {
		return sched
	}
	n := len(errs.Fields)
	if r.Schedule != nil {
		if len(r.Schedule) == 0 || len(r.Schedule) > send.MaxScheduleAttempts {
			errs.Add("retry.schedule", "must hold from 1 to %d steps", send.MaxScheduleAttempts)
		}
		own := make(hooks.Schedule, 0, len(r.Schedule))
		for i, step := range r.Schedule {
			d, err := time.ParseDuration(strings.TrimSpace(step))
			if err != nil || d < 0 {
				errs.Add("retry.schedule["+strconv.Itoa(i)+"]", "%q is not a duration such as \"0s\", \"10s\" or \"2m\"", step)
				continue
			}
			own = append(own, d)
		}
		sched = own
	}
	if r.MaxAttempts < 0 || r.MaxAttempts > send.MaxScheduleAttempts {
		errs.Add("retry.max_attempts", "must be from 0 (the schedule's) to %d", send.MaxScheduleAttempts)
	}
	if len(errs.Fields) > n {
		return nil
	}
	sched = sched.WithMaxAttempts(r.MaxAttempts)
	if span := sched.Span(); span > MaxCallScheduleSpan {
		errs.Add("retry", "the schedule waits %s in all; an API call may wait at most %s", span, MaxCallScheduleSpan)
	}
	return sched
}

// requestHash identifies the request an idempotency key stands for: the
// SHA-256 of its normalised form (header names canonical, JSON bodies
// without insignificant whitespace and with keys sorted), so the same
// request written differently is still the same request.
func (p *preparedCall) requestHash(r *RetryPolicy) string {
	body := p.body
	if body != nil && isJSONType(p.headers["Content-Type"]) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			if b, err := json.Marshal(v); err == nil {
				body = b
			}
		}
	}
	var retry any
	if r != nil {
		retry = struct {
			Schedule string
			Max      int
			Retry4xx bool
		}{p.schedule.String(), r.MaxAttempts, r.Retry4xx}
	}
	doc, _ := json.Marshal(struct {
		Connection, Method, Path string
		Query, Headers           map[string]string
		HasBody                  bool
		Body                     []byte
		Callback, Secret         string
		Retry                    any
		TimeoutMS                int
	}{p.connectionID, p.method, p.path, p.query, p.headers, p.body != nil, body, p.callbackURL, p.secret, retry, p.timeoutMS})
	sum := sha256.Sum256(doc)
	return hex.EncodeToString(sum[:])
}

// Create validates and stores a call and queues its first attempt. With
// an idempotency key already used, it returns the call made then (replayed
// true), provided the request is the same; a different request is
// ErrIdempotencyConflict. Waiting is Wait's.
func (s *Service) Create(ctx context.Context, in CallInput) (_ Call, replayed bool, _ error) {
	p, err := s.prepareCall(ctx, in)
	if err != nil {
		return Call{}, false, err
	}
	for range 3 {
		id, inserted, err := s.insertCall(ctx, p)
		if err != nil {
			return Call{}, false, err
		}
		if !inserted && p.key == "" {
			return Call{}, false, fmt.Errorf("calls: storing call %s: not stored", id)
		}
		if inserted {
			// Read as stored, before a quick worker can take it: the answer
			// shows the call as it was accepted, queued.
			c, readErr := s.Get(ctx, id)
			if err := s.opts.Queue.EnqueueCalls(ctx, []string{id}); err != nil {
				// Stored: the sweep queues it. The caller must not think it lost.
				s.opts.Log.ErrorContext(ctx, "queueing call; the sweep will queue it", "call_id", id, "error", err)
			}
			return c, false, readErr
		}
		var (
			existing, hash string
		)
		err = s.opts.DB.QueryRowContext(ctx, `SELECT id, request_hash FROM calls WHERE idempotency_key = $1`, p.key).Scan(&existing, &hash)
		if errors.Is(err, db.ErrNoRows) {
			continue // removed by retention between the two statements
		}
		if err != nil {
			return Call{}, false, fmt.Errorf("reading the call of idempotency key: %w", err)
		}
		if hash != p.hash {
			return Call{}, false, fmt.Errorf("%w: call %s was made with this key and another request; use a new key for a new request", ErrIdempotencyConflict, existing)
		}
		c, err := s.Get(ctx, existing)
		return c, true, err
	}
	return Call{}, false, errors.New("calls: storing a call: its idempotency key keeps changing hands")
}

// insertCall stores a new call unless its idempotency key is taken.
func (s *Service) insertCall(ctx context.Context, p *preparedCall) (id string, inserted bool, _ error) {
	id = ids.NewHex("call_")
	now := s.now()
	sealed := ""
	if p.secret != "" {
		var err error
		if sealed, err = s.opts.Ring.SealString(p.secret, callSecretAAD(id)); err != nil {
			return "", false, fmt.Errorf("sealing the callback secret: %w", err)
		}
	}
	headers, err := s.opts.Ring.SealHeaders(p.headers, callHeadersAAD(id))
	if err != nil {
		return "", false, fmt.Errorf("sealing the call's headers: %w", err)
	}
	var key, body any
	if p.key != "" {
		key = p.key
	}
	if p.body != nil {
		body = string(p.body)
	}
	res, err := s.opts.DB.ExecContext(ctx, `INSERT INTO calls (id, connection_id, method, path, query, headers, body, idempotency_key,
		request_hash, callback_url, callback_secret, schedule, retry_4xx, timeout_ms, state, next_attempt_at, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$16,$16) ON CONFLICT (idempotency_key) DO NOTHING`,
		id, p.connectionID, p.method, p.path, jsonText(p.query), headers, body, key,
		p.hash, p.callbackURL, sealed, p.schedule.String(), p.retry4xx, p.timeoutMS, CallQueued, now)
	if err != nil {
		return "", false, fmt.Errorf("storing call: %w", err)
	}
	n, _ := res.RowsAffected()
	return id, n == 1, nil
}

const callColumns = `c.id, c.state, c.connection_id, c.method, c.path, c.idempotency_key, c.callback_url, c.callback_delivery_id,
	c.attempts, c.next_attempt_at, c.last_error, c.created_at, c.updated_at, c.finished_at`

// Get returns a call with every attempt and, once it ended, the answer
// that ended it.
func (s *Service) Get(ctx context.Context, id string) (Call, error) {
	var (
		c                 Call
		key               sql.NullString
		cbURL, cbDelivery string
		next, finished    sql.NullTime
	)
	err := s.opts.DB.QueryRowContext(ctx, `SELECT `+callColumns+` FROM calls c WHERE c.id = $1`, id).
		Scan(&c.ID, &c.State, &c.ConnectionID, &c.Method, &c.Path, &key, &cbURL, &cbDelivery,
			&c.AttemptCount, &next, &c.LastError, &c.CreatedAt, &c.UpdatedAt, &finished)
	if errors.Is(err, db.ErrNoRows) {
		return Call{}, notFound(id)
	}
	if err != nil {
		return Call{}, fmt.Errorf("reading call %s: %w", id, err)
	}
	c.IdempotencyKey = key.String
	if cbURL != "" {
		// The callback is a delivery of the engine's, shown as it is now.
		c.Callback = &CallCallback{URL: cbURL, DeliveryID: cbDelivery}
		if cbDelivery != "" {
			if c.Callback.Status, err = s.opts.Callbacks.CallbackStatus(ctx, cbDelivery); err != nil {
				return Call{}, fmt.Errorf("reading call %s: %w", id, err)
			}
		}
	}
	if next.Valid && !c.Finished() {
		t := next.Time.UTC()
		c.NextAttemptAt = &t
	}
	if finished.Valid {
		t := finished.Time.UTC()
		c.FinishedAt = &t
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if c.Attempts, err = send.Attempts(ctx, s.opts.DB, "call_id", id); err != nil {
		return Call{}, err
	}
	if n := len(c.Attempts); c.Finished() && n > 0 {
		c.Response = responseOf(c.Attempts[n-1])
	}
	return c, nil
}

// responseOf is the answer an attempt got, nil when it got none.
func responseOf(a hooks.Attempt) *CallResponse {
	if a.Status == 0 {
		return nil
	}
	r := &CallResponse{Status: a.Status, Headers: a.ResponseHeaders, Body: a.ResponseBody, Truncated: a.Truncated}
	if r.Headers == nil {
		r.Headers = map[string]string{}
	}
	// The answer as JSON goes into the call.completed event (jsonb) with
	// the callback: only JSON that jsonb stores as it is, so that an
	// answer holding "\ud800" or 1e999999 cannot keep the call from being
	// recorded. Body has it as text either way.
	if !a.Truncated && isJSONType(headerValue(a.ResponseHeaders, "Content-Type")) && jsoncheck.Check([]byte(a.ResponseBody), jsoncheck.JSONB) == nil {
		r.JSON = json.RawMessage(a.ResponseBody)
	}
	return r
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Wait waits up to d for a call to end and returns it as it is then.
// It does not poll: it waits for the word that the call ended, published
// in Redis by whichever worker ended it, having subscribed before it looked
// at the call, so the word cannot pass unseen between the look and the
// wait. Should Redis not answer, it looks again once a second.
func (s *Service) Wait(ctx context.Context, id string, d time.Duration) (Call, error) {
	ended, stop := s.waiters.wait(ctx, s.opts.Redis, id, s.opts.Log)
	defer stop()
	c, err := s.Get(ctx, id)
	if err != nil || c.Finished() || d <= 0 {
		return c, err
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	var tick <-chan time.Time
	if ended == nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ended:
			return s.Get(ctx, id)
		case <-timer.C:
			return s.Get(ctx, id)
		case <-tick:
			if c, err := s.Get(ctx, id); err != nil || c.Finished() {
				return c, err
			}
		case <-ctx.Done():
			return Call{}, ctx.Err()
		}
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
