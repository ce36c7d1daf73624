package hooks

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/secret"
)

// The delivery engine. jobs calls DeliverFirst for each delivery of a batch
// of first attempts, and Deliver once per run of a delivery's own task;
// everything a delivery needs to know about its past (attempts made, where
// its round of the schedule started) lives in the deliveries table, and
// asynq is only the timer: Deliver says how long to wait before the next
// run, jobs hands that to asynq (RetryDelayFunc for a delivery's own task,
// ProcessIn when a batch hands a delivery on). So asynq's retry cap never cuts a
// schedule short, and a postponement (a rate limit, a connection that needs
// reauthorization) is a wait that uses up no attempt.
//
// The hot path of one attempt is: one query that loads the delivery, its
// event and its target, shared with the runs of other deliveries that start
// at the same time (batch.go); a compiled template or signer from the cache
// (keyed by target id and version); the request through Sender on
// kept-alive connections; one statement (PostgreSQL) or one transaction
// (SQLite) that records the attempt and updates the delivery, shared with
// the attempts of other deliveries that end at the same time (record.go).

// Result is what a run of a delivery asks of the queue.
type Result struct {
	// Done: nothing more to do (succeeded, failed, gone).
	Done bool
	// Again is the wait before the next run when not Done.
	Again time.Duration
	// Postponed: the next run is a wait that used up no attempt (a limit,
	// a connection that needs reauthorization), not a retry after a failure.
	Postponed bool
}

// Storage caps of an attempt. The design allows 64 KiB; 16 KiB of each body
// keeps an attempt row small at thousands of deliveries a second and is
// more than a person reads in a list of attempts.
const (
	maxStoredBody = 16 << 10
	// maxDrain is how much of a long answer is read (and thrown away) so
	// the connection can be reused; past it the connection is closed.
	maxDrain = 256 << 10
)

// loaded is a delivery with its event and target, read in one query.
type loaded struct {
	id, status, kind, targetID string
	attempts, retryBase        int
	next                       sql.NullTime
	batch                      string

	eventID, eventType string
	occurredAt         time.Time
	profile, data      sql.NullString

	// hook
	hVersion                                   sql.NullInt64
	hConn, hMethod, hURL, hHeaders, hBody, hMi sql.NullString
	hEnabled, hRetry4xx                        sql.NullBool
	hMaxAttempts, hTimeout, hMaxConc           sql.NullInt64
	hRate                                      sql.NullFloat64

	// webhook
	wVersion                       sql.NullInt64
	wURL, wSecret, wPrev           sql.NullString
	wPrevUntil, wFailingSince      sql.NullTime
	wEnabled                       sql.NullBool
	wRate                          sql.NullFloat64
	wMaxConc                       sql.NullInt64
	wDisabledReason, hName, wDescr sql.NullString

	// call (the callback of an API call that ended)
	cURL, cSecret sql.NullString

	// the hook's connection's limits, shared with API calls through it
	cnRate sql.NullFloat64
	cnConc sql.NullInt64

	// the target's circuit breaker (circuit.go)
	circuit circuitRow
}

// loadColumns are what a delivery's run reads: the delivery, its event and
// its target, joined.
const loadColumns = `SELECT d.id, d.status, d.target_kind, d.target_id, d.attempts, d.retry_base, d.next_attempt_at, d.batch_id,
	e.id, e.type, e.occurred_at, e.profile, e.data,
	h.version, h.connection_id, h.method, h.url, h.headers, h.body, h.missing, h.enabled, h.retry_4xx,
	h.max_attempts, h.timeout_ms, h.max_concurrency, h.rate_limit,
	w.version, w.url, w.secret, w.previous_secret, w.previous_expires_at, w.failing_since, w.enabled,
	w.rate_limit, w.max_concurrency, w.disabled_reason, h.name, w.description,
	c.callback_url, c.callback_secret, cn.rate_limit, cn.max_concurrency, ` + circuitColumns + `
FROM deliveries d
JOIN events e ON e.id = d.event_id
LEFT JOIN hooks h ON d.target_kind = 'hook' AND h.id = d.target_id
LEFT JOIN webhooks w ON d.target_kind = 'webhook' AND w.id = d.target_id
LEFT JOIN calls c ON d.target_kind = 'call' AND c.id = d.target_id
LEFT JOIN connections cn ON d.target_kind = 'hook' AND cn.id = h.connection_id
LEFT JOIN circuits ci ON ci.target = CASE WHEN h.connection_id <> '' THEN 'connection:' || h.connection_id ELSE d.target_kind || ':' || d.target_id END
WHERE d.id IN `

// loadLimits bound the loads: the runs of a process that start together
// read their deliveries in one query (batch.go), one query under way at a
// time, as the attempts' writes. Nothing is sent yet when a run loads, so
// a run whose task is given up stops waiting.
var loadLimits = batchLimits{maxBatch: 64, maxRunners: 1, timeout: 30 * time.Second, leaveOnCancel: true}

// load reads a delivery with its event and its target, together with the
// deliveries of other runs starting meanwhile. A delivery that is gone is
// db.ErrNoRows.
func (s *Service) load(ctx context.Context, id string) (*loaded, error) {
	return s.loader.do(ctx, id, loadLimits, s.loadBatch)
}

// loadBatch reads the deliveries of a batch in one query and answers each.
func (s *Service) loadBatch(ctx context.Context, batch []*batchCall[string, *loaded]) {
	args := make([]any, len(batch))
	for i, c := range batch {
		args[i] = c.in
	}
	query := loadColumns + "(" + placeholders(1, len(batch)) + ")"
	found := make(map[string]*loaded, len(batch))
	err := func() error {
		rows, err := s.opts.DB.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l loaded
			if err := rows.Scan(append([]any{&l.id, &l.status, &l.kind, &l.targetID, &l.attempts, &l.retryBase, &l.next, &l.batch,
				&l.eventID, &l.eventType, &l.occurredAt, &l.profile, &l.data,
				&l.hVersion, &l.hConn, &l.hMethod, &l.hURL, &l.hHeaders, &l.hBody, &l.hMi, &l.hEnabled, &l.hRetry4xx,
				&l.hMaxAttempts, &l.hTimeout, &l.hMaxConc, &l.hRate,
				&l.wVersion, &l.wURL, &l.wSecret, &l.wPrev, &l.wPrevUntil, &l.wFailingSince, &l.wEnabled,
				&l.wRate, &l.wMaxConc, &l.wDisabledReason, &l.hName, &l.wDescr,
				&l.cURL, &l.cSecret, &l.cnRate, &l.cnConc}, l.circuit.scanArgs()...)...); err != nil {
				return err
			}
			found[l.id] = &l
		}
		return rows.Err()
	}()
	if err != nil && len(batch) > 1 {
		// One bad row spoils the query for all: each reads alone, so that
		// it spoils no one else's run.
		for _, c := range batch {
			s.loadBatch(ctx, []*batchCall[string, *loaded]{c})
		}
		return
	}
	for _, c := range batch {
		switch l := found[c.in]; {
		case err != nil:
			c.answer(nil, err)
		case l == nil:
			c.answer(nil, db.ErrNoRows)
		default:
			// Two runs of one delivery in a batch (a stale duplicate) each
			// get their own copy.
			cp := *l
			c.answer(&cp, nil)
		}
	}
}

// compiledHook is what a hook costs to prepare, kept per version.
type compiledHook struct {
	version  int64
	tmpl     *Template
	header   http.Header
	schedule Schedule
}

// compiledWebhook is a webhook's signer, kept per version and, during a
// rotation overlap, until the previous secret stops signing.
type compiledWebhook struct {
	version int64
	signer  *Signer
	until   time.Time // zero: no expiry
}

func (s *Service) hookFor(l *loaded) (*compiledHook, error) {
	if c, ok := s.compiled.Load(l.targetID); ok {
		if ch, ok := c.(*compiledHook); ok && ch.version == l.hVersion.Int64 {
			return ch, nil
		}
	}
	miss, _ := ParseMissingPolicy(l.hMi.String)
	ch := &compiledHook{version: l.hVersion.Int64, header: http.Header{}}
	if l.hBody.String != "" {
		t, err := CompileTemplate(json.RawMessage(l.hBody.String), miss)
		if err != nil {
			return nil, fmt.Errorf("%w: hook body template: %w", ErrPermanent, err)
		}
		ch.tmpl = t
		ch.header.Set("Content-Type", "application/json")
	}
	hs, err := s.hookHeaders(l.targetID, l.hHeaders.String)
	if err != nil {
		return nil, err
	}
	for k, v := range hs {
		ch.header.Set(k, v)
	}
	ch.schedule = s.opts.Schedule.WithMaxAttempts(int(l.hMaxAttempts.Int64))
	s.compiled.Store(l.targetID, ch)
	return ch, nil
}

func (s *Service) signerFor(l *loaded, now time.Time) (*Signer, error) {
	if c, ok := s.compiled.Load(l.targetID); ok {
		if cw, ok := c.(*compiledWebhook); ok && cw.version == l.wVersion.Int64 && (cw.until.IsZero() || now.Before(cw.until)) {
			return cw.signer, nil
		}
	}
	current, err := s.opener().open(l.wSecret.String, l.targetID, "secret")
	if err != nil {
		return nil, err
	}
	secrets := []string{current}
	cw := &compiledWebhook{version: l.wVersion.Int64}
	if l.wPrev.String != "" && l.wPrevUntil.Valid && now.Before(l.wPrevUntil.Time) {
		prev, err := s.opener().open(l.wPrev.String, l.targetID, "previous_secret")
		if err != nil {
			return nil, err
		}
		secrets = append(secrets, prev)
		cw.until = l.wPrevUntil.Time
	}
	signer, err := NewSigner(secrets...)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", l.targetID, err)
	}
	cw.signer = signer
	s.compiled.Store(l.targetID, cw)
	return signer, nil
}

// outgoing is one request to send.
type outgoing struct {
	connectionID string
	method, url  string
	header       http.Header
	body         []byte
	timeout      time.Duration
}

// Deliver makes one attempt of a delivery, or finds that none is due, and
// says what should follow. An error means the attempt could not even be
// judged (the database is down); the queue should run it again later.
func (s *Service) Deliver(ctx context.Context, id string) (Result, error) {
	return s.deliver(ctx, id, "")
}

// DeliverFirst is Deliver for a delivery whose first attempt came in a
// batch: it makes that attempt only if none has been made, the delivery
// does not wait (a run of the batch before this one may have got that far
// before its worker stopped) and it is still the batch's (the sweep or a
// retry takes a delivery out of its batch when it queues it alone);
// otherwise it answers with Again until the delivery is due. Whatever is
// not Done goes on as a task of the delivery's own (jobs), which exists
// already if an earlier run queued it. A delivery that must wait for a
// limit is marked postponed, so that a later run of the batch leaves it to
// that task.
func (s *Service) DeliverFirst(ctx context.Context, batch, id string) (Result, error) {
	return s.deliver(ctx, id, batch)
}

// LeaveBatch takes deliveries that still wait for their first attempt out
// of their batch, so that they go on alone, and returns those it took. Only
// a run of the batch may call it (no other could be sending them): one that
// could not judge them run after run, so that they retry on their own
// instead of holding the batch.
func (s *Service) LeaveBatch(ctx context.Context, batch string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := append([]any{batch, statusPending}, anys(ids)...)
	left, err := queryIDs(ctx, s.opts.DB, `UPDATE deliveries SET batch_id='' WHERE batch_id=$1 AND status=$2 AND attempts=0
		AND id IN (`+placeholders(3, len(ids))+`) RETURNING id`, args...)
	if err != nil {
		return nil, fmt.Errorf("taking deliveries out of batch %s: %w", batch, err)
	}
	return left, nil
}

// deliver runs a delivery alone, or in batch when that is not "".
func (s *Service) deliver(ctx context.Context, id, batch string) (Result, error) {
	first := batch != ""
	l, err := s.load(ctx, id)
	if errors.Is(err, db.ErrNoRows) {
		return Result{Done: true}, nil // removed by retention
	}
	if err != nil {
		return Result{}, fmt.Errorf("loading delivery %s: %w", id, err)
	}
	if l.status == statusSucceeded || l.status == statusFailed {
		return Result{Done: true}, nil // a stale duplicate run
	}
	if first && (l.batch != batch || l.status != statusPending || l.attempts > 0) {
		r := Result{Postponed: l.status == statusPostponed}
		if l.next.Valid {
			r.Again = max(l.next.Time.Sub(s.now()), 0)
		}
		return r, nil
	}

	kind := TargetHook
	var lim Limits
	switch l.kind {
	case "hook":
		if !l.hVersion.Valid {
			return s.finishWithoutAttempt(ctx, l, "the hook was deleted")
		}
		if !l.hEnabled.Bool {
			return s.finishWithoutAttempt(ctx, l, "the hook is disabled")
		}
		lim = Limits{RateLimit: l.hRate.Float64, MaxConcurrency: int(l.hMaxConc.Int64)}
	case "webhook":
		kind = TargetWebhook
		if !l.wVersion.Valid {
			return s.finishWithoutAttempt(ctx, l, "the webhook endpoint was deleted")
		}
		if !l.wEnabled.Bool {
			reason := "the webhook endpoint is disabled"
			if l.wDisabledReason.String != "" {
				reason += ": " + l.wDisabledReason.String
			}
			return s.finishWithoutAttempt(ctx, l, reason)
		}
		lim = Limits{RateLimit: l.wRate.Float64, MaxConcurrency: int(l.wMaxConc.Int64)}
	case "call":
		kind = TargetCall
		if !l.cURL.Valid {
			return s.finishWithoutAttempt(ctx, l, "the call was removed")
		}
	default:
		return s.finishWithoutAttempt(ctx, l, "unknown target kind "+l.kind)
	}

	// A target that does not answer is left alone for a while (its
	// circuit), and never holds more than its share of this worker's slots.
	shareKey, breaker := circuitKey(l)
	g, err := s.admit(ctx, breaker, l.circuit, s.timeoutOf(l))
	if err != nil {
		return Result{}, err
	}
	if g.wait > 0 {
		return s.postponeFor(ctx, l, g.wait, first, g.why)
	}
	releaseShare, wait := s.deliveryShare.take(ctx, shareKey)
	if wait > 0 {
		return s.postponeForLimit(ctx, l, wait, first)
	}
	defer releaseShare()

	release, wait, err := s.limiter.acquire(ctx, l.kind+":"+l.targetID, lim)
	if err != nil {
		return Result{}, err
	}
	if wait > 0 {
		return s.postponeForLimit(ctx, l, wait, first)
	}
	if l.cnRate.Float64 > 0 || l.cnConc.Int64 > 0 {
		// A connection's limits hold for everything sent through it: its
		// hooks' deliveries share them with its API calls (callrun.go).
		releaseConn, wait, err := s.limiter.acquire(ctx, "connection:"+l.hConn.String,
			Limits{RateLimit: l.cnRate.Float64, MaxConcurrency: int(l.cnConc.Int64)})
		if err != nil || wait > 0 {
			release(false) // nothing sent: the hook's own slot goes back whole
			if err != nil {
				return Result{}, err
			}
			return s.postponeForLimit(ctx, l, wait, first)
		}
		defer releaseConn(true)
	}
	defer release(true)

	now := s.now()
	var (
		out      outgoing
		schedule = s.opts.Schedule
		retry4xx bool
		prepErr  error
	)
	switch kind {
	case TargetHook:
		out, schedule, prepErr = s.hookRequest(l)
		retry4xx = l.hRetry4xx.Bool
	case TargetWebhook:
		out, prepErr = s.webhookRequest(l, now)
	case TargetCall:
		out, prepErr = s.callbackRequest(l, now)
		schedule = s.opts.CallSchedule
	}
	if prepErr != nil && !errors.Is(prepErr, ErrPermanent) {
		return Result{}, prepErr
	}

	start := time.Now()
	x := s.exchange(ctx, out, prepErr, l.attempts+1, now, maxStoredBody)
	releaseShare() // the target's part is done; recording the attempt is ours
	if x.reauth != nil {
		return s.postponeForReauth(ctx, l, x.reauth)
	}
	s.observeCircuit(ctx, breaker, l.circuit, g, x)
	outcome := Classify(x.a.Status, x.err, kind, retry4xx)
	x.a.Outcome = outcome.String()
	observed := kind.String()
	if kind == TargetCall {
		observed = "callback" // the call's own requests are "call" (callrun.go)
	}
	s.observeAttempt(observed, outcome, time.Since(start))
	return s.conclude(ctx, l, kind, schedule, x.a, outcome, x.retryAfter)
}

// observeAttempt tells Options.ObserveAttempt of an attempt. The duration
// is measured on the wall clock, not s.now, which tests may fix.
func (s *Service) observeAttempt(targetKind string, outcome Outcome, took time.Duration) {
	if s.opts.ObserveAttempt != nil {
		s.opts.ObserveAttempt(targetKind, outcome.String(), took)
	}
}

// exchanged is one request made and answered (or not): what the attempt
// records, the error Classify judges, and the answer's Retry-After.
type exchanged struct {
	a          Attempt
	err        error
	retryAfter string
	// reauth is set when nothing could be sent because the connection needs
	// a person to reconnect it: that is no attempt, and the work waits.
	reauth error
}

// exchange is the request executor that deliveries and API calls share:
// it sends out (unless preparing it already failed with prepErr, which
// wraps ErrPermanent) and records the request and its answer as attempt
// number, keeping at most bodyCap bytes of the answer. A refusal before
// sending (a host outside the connection's, a blocked address) comes back
// wrapping ErrPermanent, so Classify fails it without a retry.
func (s *Service) exchange(ctx context.Context, out outgoing, prepErr error, number int, now time.Time, bodyCap int) exchanged {
	x := exchanged{a: Attempt{Number: number, StartedAt: now, Method: out.method, URL: out.url,
		RequestHeaders: redactHeaders(out.header), RequestBody: excerpt(out.body), ResponseHeaders: map[string]string{}}}
	if prepErr != nil {
		x.err = prepErr
		x.a.Error = strings.TrimPrefix(prepErr.Error(), ErrPermanent.Error()+": ")
	} else if retryAfter, err := s.send(ctx, out, &x.a, bodyCap); err != nil {
		if nr, ok := errors.AsType[interface {
			error
			NeedsReauth() bool
		}](err); ok && nr.NeedsReauth() {
			x.reauth = err
			return x
		}
		if p, ok := errors.AsType[interface {
			error
			Permanent() bool
		}](err); ok && p.Permanent() {
			err = fmt.Errorf("%w: %w", ErrPermanent, err)
		}
		x.err = err
		x.a.Error = plainError(err, out.timeout)
	} else {
		x.retryAfter = retryAfter
	}
	x.a.DurationMS = float64(time.Since(now).Microseconds()) / 1000
	return x
}

// hookRequest renders an action hook's request for this delivery.
func (s *Service) hookRequest(l *loaded) (outgoing, Schedule, error) {
	ch, err := s.hookFor(l)
	if err != nil {
		return outgoing{method: l.hMethod.String, url: l.hURL.String}, s.opts.Schedule, err
	}
	out := outgoing{
		connectionID: l.hConn.String, method: l.hMethod.String, url: l.hURL.String,
		header: ch.header.Clone(), timeout: s.timeoutOf(l),
	}
	// The delivery id is stable across retries, so the receiver can
	// recognise a repeat.
	out.header["Idempotency-Key"] = []string{l.id}
	if ch.tmpl != nil {
		profile, err := DecodeObject([]byte(l.profile.String))
		if err != nil {
			return out, ch.schedule, fmt.Errorf("%w: reading the event's profile: %w", ErrPermanent, err)
		}
		data, err := DecodeObject([]byte(l.data.String))
		if err != nil {
			return out, ch.schedule, fmt.Errorf("%w: reading the event's data: %w", ErrPermanent, err)
		}
		body, err := ch.tmpl.Render(Scope{Event: EventInfo{ID: l.eventID, Type: l.eventType, OccurredAt: l.occurredAt.UTC()}, Profile: profile, Data: data})
		if err != nil {
			return out, ch.schedule, fmt.Errorf("%w: rendering the body: %w", ErrPermanent, err)
		}
		out.body = body
	}
	return out, ch.schedule, nil
}

// webhookRequest builds a signed Standard Webhooks request: the payload
// {id, type, timestamp, data}, where id is the event's id, and the headers
// webhook-id (the delivery id, the same on every attempt), webhook-timestamp
// (this attempt) and webhook-signature (one v1 per active secret).
func (s *Service) webhookRequest(l *loaded, now time.Time) (outgoing, error) {
	signer, err := s.signerFor(l, now)
	if err != nil {
		return outgoing{method: http.MethodPost, url: l.wURL.String}, err
	}
	return s.signedRequest(l, l.wURL.String, signer, now), nil
}

// callbackRequest is the callback of an API call that ended: the same
// signed request as an event webhook's, with the secret the call gave.
func (s *Service) callbackRequest(l *loaded, now time.Time) (outgoing, error) {
	plain, err := s.opts.Ring.OpenString(l.cSecret.String, callSecretAAD(l.targetID))
	if err != nil {
		return outgoing{method: http.MethodPost, url: l.cURL.String}, fmt.Errorf("opening the callback secret of call %s: %w", l.targetID, err)
	}
	signer, err := NewSigner(plain)
	if err != nil {
		return outgoing{method: http.MethodPost, url: l.cURL.String}, fmt.Errorf("%w: the callback secret of call %s: %w", ErrPermanent, l.targetID, err)
	}
	return s.signedRequest(l, l.cURL.String, signer, now), nil
}

// signedRequest is a Standard Webhooks POST of the delivery's event to u.
func (s *Service) signedRequest(l *loaded, u string, signer *Signer, now time.Time) outgoing {
	out := outgoing{method: http.MethodPost, url: u, header: http.Header{}, timeout: s.opts.RequestTimeout}
	data := strings.TrimSpace(l.data.String)
	if data == "" {
		data = "{}"
	}
	body := make([]byte, 0, 96+len(l.eventID)+len(l.eventType)+len(data))
	body = append(body, `{"id":`...)
	body = appendString(body, l.eventID)
	body = append(body, `,"type":`...)
	body = appendString(body, l.eventType)
	body = append(body, `,"timestamp":"`...)
	body = l.occurredAt.UTC().AppendFormat(body, time.RFC3339Nano)
	body = append(body, `","data":`...)
	body = append(body, data...)
	body = append(body, '}')
	out.body = body
	out.header["Content-Type"] = []string{"application/json"}
	signer.Apply(out.header, l.id, now, body)
	return out
}

// send makes the request and records its answer in a, keeping at most
// bodyCap bytes of the answer's body.
func (s *Service) send(ctx context.Context, out outgoing, a *Attempt, bodyCap int) (retryAfter string, _ error) {
	ctx, cancel := context.WithTimeout(ctx, out.timeout)
	defer cancel()
	var body io.Reader
	if out.body != nil {
		body = bytes.NewReader(out.body)
	}
	req, err := http.NewRequestWithContext(ctx, out.method, out.url, body)
	if err != nil {
		return "", fmt.Errorf("%w: building the request: %w", ErrPermanent, err)
	}
	req.Header = out.header
	resp, err := s.opts.Sender.Do(ctx, out.connectionID, req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.Request != nil && resp.Request.URL != nil {
		// What was asked for may be a path relative to the connection's
		// base URL, or redirected: the attempt shows where it went. Sender
		// hands back the request with its credentials removed.
		a.URL = resp.Request.URL.String()
	}
	a.Status = resp.StatusCode
	a.ResponseHeaders = answerHeaders(resp.Header)
	buf := make([]byte, 0, 512)
	lr := io.LimitReader(resp.Body, int64(bodyCap)+1)
	var cut error
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, rerr := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if rerr != nil {
			if rerr != io.EOF {
				cut = rerr
			}
			break
		}
	}
	if len(buf) > bodyCap {
		buf, a.Truncated = buf[:bodyCap], true
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	}
	if cut != nil {
		// The answer's status stands; the body is kept as far as it came,
		// and the error says it was cut, not that no answer came.
		a.Truncated = true
		a.Error = bodyCutError(cut, out.timeout, len(buf))
	}
	a.ResponseBody = storedText(buf)
	return resp.Header.Get("Retry-After"), nil
}

func excerpt(b []byte) string {
	if len(b) > maxStoredBody {
		b = b[:maxStoredBody]
	}
	return storedText(b)
}

// storedText is a body as an attempt keeps it: text, with what is not
// UTF-8 and U+0000 (which PostgreSQL's text cannot hold: the attempt
// could not be recorded, and the delivery would be sent again and again)
// shown as U+FFFD.
func storedText(b []byte) string {
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00", "\uFFFD")
}

// redactHeaders flattens a request's headers for its attempt by the rule
// that masks headers in answers: a value is kept only when its name is one
// of secret.PlainHeaders or of the headers Liaison writes itself
// (liaisonHeaders); every other value, given to a hook or a call, is
// "[removed]". (A connection's fixed headers and credentials are added by
// the Sender and never reach the attempt.)
func redactHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		v := strings.Join(vs, ", ")
		if !secret.PlainHeader(k) && !slices.Contains(liaisonHeaders, http.CanonicalHeaderKey(k)) {
			v = "[removed]"
		}
		out[k] = v
	}
	return out
}

// liaisonHeaders are the headers Liaison itself writes on a request that
// carry no secret: the delivery id, the Standard Webhooks headers (the
// signature proves one body, and its secret stays sealed).
var liaisonHeaders = []string{"Idempotency-Key", "Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}

// answerHeaders flattens an answer's headers for its attempt. They are the
// other service's, and an API call's caller may need them (Location,
// Retry-After, rate-limit counts), so they are kept, but for those whose
// name says they carry a credential.
func answerHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		v := strings.Join(vs, ", ")
		if credentialHeader(k) {
			v = "[removed]"
		}
		out[k] = v
	}
	return out
}

// credentialHeader reports whether a header's name says it carries a
// credential: the usual ones, and any that says key, token, secret,
// password, session or auth.
func credentialHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie", "x-amz-security-token":
		return true
	}
	for _, w := range []string{"key", "token", "secret", "password", "session", "auth"} {
		if strings.Contains(n, w) && n != "idempotency-key" {
			return true
		}
	}
	return false
}

// plainError says what went wrong with a request in words a person reads.
// bodyCutError says that an answer's body stopped coming: at the timeout
// (a receiver that sends its status, then trickles the body), or for
// another reason, with what was kept.
func bodyCutError(err error, timeout time.Duration, kept int) string {
	if isTimeout(err) {
		return fmt.Sprintf("the answer's body was cut off after %s (timeout); %d bytes kept", timeout, kept)
	}
	return fmt.Sprintf("the answer's body was cut off: %s; %d bytes kept", plainError(err, timeout), kept)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func plainError(err error, timeout time.Duration) string {
	var (
		dnse *net.DNSError
		oe   *net.OpError
	)
	switch {
	case isTimeout(err):
		return fmt.Sprintf("no answer within %s (timeout)", timeout)
	case errors.As(err, &dnse):
		return fmt.Sprintf("the host name %s could not be resolved", dnse.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused: nothing listens at that address"
	case errors.As(err, &oe) && oe.Op == "dial":
		return "could not connect: " + oe.Err.Error()
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, ErrPermanent.Error()+": ")
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Op + " " + ue.URL + ": " + ue.Err.Error()
	}
	return msg
}

// postponeForReauth records why the delivery waits and when it looks again;
// no attempt is used. Reconnecting wakes it sooner (ResumeConnection).
func (s *Service) postponeForReauth(ctx context.Context, l *loaded, cause error) (Result, error) {
	now := s.now()
	wait := s.opts.ReauthRecheck
	msg := "waiting for the connection to be reconnected: " + cause.Error()
	if _, err := s.opts.DB.ExecContext(context.WithoutCancel(ctx), `UPDATE deliveries SET status=$2, next_attempt_at=$3, last_error=$4, updated_at=$5 WHERE id=$1`,
		l.id, statusPostponed, now.Add(wait), msg, now); err != nil {
		return Result{}, fmt.Errorf("postponing delivery %s: %w", l.id, err)
	}
	return Result{Again: wait, Postponed: true}, nil
}

// postponeForLimit makes a delivery wait for its target's (or its
// connection's) limit; no attempt is used. The delivery is marked
// postponed, due when it looks again, so that the API says why it waits
// and the sweep leaves it be; one in a batch (first) goes on in a task of
// its own. Waits under a limit are often a few milliseconds, one after
// another: a delivery already marked postponed is written again only once
// what the API shows is more than a second behind.
func (s *Service) postponeForLimit(ctx context.Context, l *loaded, wait time.Duration, first bool) (Result, error) {
	return s.postponeFor(ctx, l, wait, first, "")
}

// postponeFor is postponeForLimit saying why, when why is not "" (an open
// circuit): that is written each time, the waits it makes being long.
func (s *Service) postponeFor(ctx context.Context, l *loaded, wait time.Duration, first bool, why string) (Result, error) {
	now := s.now()
	next := now.Add(wait)
	shown := l.status == statusPostponed && l.next.Valid && next.Sub(l.next.Time) <= time.Second
	var err error
	switch {
	case why != "":
		_, err = s.opts.DB.ExecContext(context.WithoutCancel(ctx), `UPDATE deliveries SET status=$2, next_attempt_at=$3, updated_at=$4, last_error=$5 WHERE id=$1`,
			l.id, statusPostponed, next, now, why)
	case first || !shown:
		_, err = s.opts.DB.ExecContext(context.WithoutCancel(ctx), `UPDATE deliveries SET status=$2, next_attempt_at=$3, updated_at=$4 WHERE id=$1`,
			l.id, statusPostponed, next, now)
	}
	if err != nil {
		return Result{}, fmt.Errorf("postponing delivery %s: %w", l.id, err)
	}
	return Result{Again: wait, Postponed: true}, nil
}

// timeoutOf is how long one attempt of the delivery may take.
func (s *Service) timeoutOf(l *loaded) time.Duration {
	if l.kind == "hook" && l.hTimeout.Int64 > 0 {
		return time.Duration(l.hTimeout.Int64) * time.Millisecond
	}
	return s.opts.RequestTimeout
}

// finishWithoutAttempt fails a delivery whose target is gone or disabled.
func (s *Service) finishWithoutAttempt(ctx context.Context, l *loaded, reason string) (Result, error) {
	now := s.now()
	if _, err := s.opts.DB.ExecContext(context.WithoutCancel(ctx), `UPDATE deliveries SET status=$2, last_error=$3, finished_at=$4, updated_at=$4, next_attempt_at=NULL WHERE id=$1`,
		l.id, statusFailed, reason, now); err != nil {
		return Result{}, fmt.Errorf("finishing delivery %s: %w", l.id, err)
	}
	return Result{Done: true}, nil
}

// conclude records the attempt, moves the delivery on, and takes care of
// what follows: the webhook's failure run (and disabling), delivery.failed.
func (s *Service) conclude(ctx context.Context, l *loaded, kind TargetKind, schedule Schedule, a Attempt, outcome Outcome, retryAfter string) (Result, error) {
	ctx = context.WithoutCancel(ctx) // what was sent is recorded even if the worker stops
	now := s.now()
	st := s.advance(schedule, a.Number-l.retryBase, a, outcome, retryAfter, now)
	if err := s.recordAttempt(ctx, l.id, a, st.status, st.next, st.finished, st.lastError); err != nil {
		return Result{}, err
	}

	if kind == TargetWebhook {
		if err := s.trackWebhook(ctx, l, outcome, now); err != nil {
			s.opts.Log.ErrorContext(ctx, "tracking webhook failures", "webhook_id", l.targetID, "error", err)
		}
	}
	if st.status == statusFailed && l.eventType != EventDeliveryFailed && l.eventType != EventWebhookDisabled {
		data := map[string]any{
			"delivery_id": l.id, "event_id": l.eventID, "event_type": l.eventType,
			"target_kind": l.kind, "attempts": a.Number, "last_status": a.Status, "last_error": st.lastError,
		}
		data[l.kind+"_id"] = l.targetID
		if err := s.Record(ctx, EventDeliveryFailed, data); err != nil {
			s.opts.Log.ErrorContext(ctx, "recording delivery.failed", "delivery_id", l.id, "error", err)
		}
	}
	return st.result, nil
}

// step is where an attempt leaves its delivery or call: its new status,
// when the next attempt is due and when it finished (either may be NULL),
// the error to show, and what the queue should do.
type step struct {
	status         string
	next, finished sql.NullTime
	lastError      string
	result         Result
}

// advance applies the outcome of an attempt, the round-th of the current
// round of the schedule, shared by deliveries and calls: succeeded; failed;
// or retrying after the schedule's next delay, which a Retry-After answer
// may lengthen (up to RetryAfterMax) but never shorten; failed when the
// schedule is exhausted.
func (s *Service) advance(schedule Schedule, round int, a Attempt, outcome Outcome, retryAfter string, now time.Time) step {
	st := step{lastError: a.Error}
	if st.lastError == "" && outcome != Succeeded {
		st.lastError = "answered " + strconv.Itoa(a.Status) + " " + http.StatusText(a.Status)
	}
	switch outcome {
	case Succeeded:
		st.status, st.result = statusSucceeded, Result{Done: true}
		st.lastError = ""
	case Retry:
		delay, ok := schedule.Delay(round, s.opts.Rand)
		if !ok {
			st.status, st.result = statusFailed, Result{Done: true}
			st.lastError = fmt.Sprintf("gave up after %d attempts: %s", round, st.lastError)
			break
		}
		if ra, ok := ParseRetryAfter(retryAfter, now); ok {
			delay = ClampRetryAfter(ra, delay, max(delay, s.opts.RetryAfterMax))
		}
		st.retryIn(delay, now)
	case Fail, Disable:
		st.status, st.result = statusFailed, Result{Done: true}
	}
	if st.result.Done {
		st.finished = sql.NullTime{Time: now, Valid: true}
	}
	return st
}

func (st *step) retryIn(delay time.Duration, now time.Time) {
	st.status, st.result = statusRetrying, Result{Again: delay}
	st.next = sql.NullTime{Time: now.Add(delay), Valid: true}
}

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

// trackWebhook keeps an endpoint's run of failures: a success ends it, a
// failure starts it, and a run longer than DisableAfter, or a 410, disables
// the endpoint and says so with webhook.disabled.
func (s *Service) trackWebhook(ctx context.Context, l *loaded, outcome Outcome, now time.Time) error {
	switch {
	case outcome == Succeeded:
		if l.wFailingSince.Valid {
			_, err := s.opts.DB.ExecContext(ctx, `UPDATE webhooks SET failing_since=NULL WHERE id=$1`, l.targetID)
			return err
		}
		return nil
	case outcome == Disable:
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
