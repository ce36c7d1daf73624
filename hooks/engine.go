package hooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/liaison/liaison/hooks/send"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/retry"
)

// The delivery engine. jobs calls DeliverFirst for each delivery of a batch
// of first attempts, and Deliver once per run of a delivery's own task;
// everything a delivery needs to know about its past (attempts made, where
// its round of the schedule started) lives in the deliveries table, and
// asynq is only the timer: Deliver says how long to wait before the next
// run (a *retry.Later, internal/retry), jobs hands that to asynq
// (RetryDelayFunc for a delivery's own task, ProcessIn when a batch hands a
// delivery on). So asynq's retry cap never cuts a schedule short, and a
// postponement (a rate limit, a connection that needs reauthorization) is
// a wait that uses up no attempt.
//
// The hot path of one attempt is: one query that loads the delivery, its
// event and its target, shared with the runs of other deliveries that start
// at the same time (batch.go); a compiled template or signer from the cache
// (keyed by target id and version); the request through Sender on
// kept-alive connections; one statement (PostgreSQL) or one transaction
// (SQLite) that records the attempt and updates the delivery, shared with
// the attempts of other deliveries that end at the same time (record.go).

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

	// callback: where it goes, from its owner (Options.Callbacks)
	callback *CallbackTarget

	// the target's circuit breaker (circuit.go)
	circuit send.CircuitRow
}

// loadColumns are what a delivery's run reads: the delivery, its event and
// its target, joined.
const loadColumns = `SELECT d.id, d.status, d.target_kind, d.target_id, d.attempts, d.retry_base, d.next_attempt_at, d.batch_id,
	e.id, e.type, e.occurred_at, e.profile, e.data,
	h.version, h.connection_id, h.method, h.url, h.headers, h.body, h.missing, h.enabled, h.retry_4xx,
	h.max_attempts, h.timeout_ms, h.max_concurrency, h.rate_limit,
	w.version, w.url, w.secret, w.previous_secret, w.previous_expires_at, w.failing_since, w.enabled,
	w.rate_limit, w.max_concurrency, w.disabled_reason, h.name, w.description,
	` + send.CircuitColumns + `
FROM deliveries d
JOIN events e ON e.id = d.event_id
LEFT JOIN hooks h ON d.target_kind = 'hook' AND h.id = d.target_id
LEFT JOIN webhooks w ON d.target_kind = 'webhook' AND w.id = d.target_id
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
	query := loadColumns + "(" + db.Placeholders(1, len(batch)) + ")"
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
			}, l.circuit.ScanArgs()...)...); err != nil {
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
			return nil, retry.Never(fmt.Errorf("hook body template: %w", err))
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

// Deliver makes one attempt of a delivery, or finds that none is due, and
// says what should follow: nil when the delivery is done (succeeded, or
// failed and recorded), a *retry.Later when it runs again (after a failed
// attempt, on the schedule; or postponed, using up no attempt). Any other
// error means the attempt could not even be judged (the database is
// down); the queue should run it again later.
func (s *Service) Deliver(ctx context.Context, id string) error {
	return s.deliver(ctx, id, "")
}

// DeliverFirst is Deliver for a delivery whose first attempt came in a
// batch: it makes that attempt only if none has been made, the delivery
// does not wait (a run of the batch before this one may have got that far
// before its worker stopped) and it is still the batch's (the sweep or a
// retry takes a delivery out of its batch when it queues it alone);
// otherwise it answers with a *retry.Later until the delivery is due.
// Whatever is not done goes on as a task of the delivery's own (jobs),
// which exists already if an earlier run queued it. A delivery that must wait for a
// limit is marked postponed, so that a later run of the batch leaves it to
// that task.
func (s *Service) DeliverFirst(ctx context.Context, batch, id string) error {
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
	args := append([]any{batch, statusPending}, db.Args(ids)...)
	left, err := db.QueryStrings(ctx, s.opts.DB, `UPDATE deliveries SET batch_id='' WHERE batch_id=$1 AND status=$2 AND attempts=0
		AND id IN (`+db.Placeholders(3, len(ids))+`) RETURNING id`, args...)
	if err != nil {
		return nil, fmt.Errorf("taking deliveries out of batch %s: %w", batch, err)
	}
	return left, nil
}

// deliver runs a delivery alone, or in batch when that is not "".
func (s *Service) deliver(ctx context.Context, id, batch string) error {
	first := batch != ""
	l, err := s.load(ctx, id)
	if errors.Is(err, db.ErrNoRows) {
		return nil // removed by retention
	}
	if err != nil {
		return fmt.Errorf("loading delivery %s: %w", id, err)
	}
	if l.status == statusSucceeded || l.status == statusFailed {
		return nil // a stale duplicate run
	}
	if first && (l.batch != batch || l.status != statusPending || l.attempts > 0) {
		// Not this run's to send: the delivery goes on in its own task,
		// due when the delivery is.
		later := &retry.Later{Reason: "not the batch's to send"}
		if l.next.Valid {
			later.After = max(l.next.Time.Sub(s.now()), 0)
		}
		return later
	}

	kind := send.TargetHook
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
		kind = send.TargetWebhook
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
	case kindCallback:
		kind = send.TargetCallback
		cb, found, err := s.callbackTarget(ctx, l.targetID)
		if err != nil {
			return err
		}
		if !found {
			return s.finishWithoutAttempt(ctx, l, "the "+l.kind+" was removed")
		}
		l.callback = &cb
	default:
		return s.finishWithoutAttempt(ctx, l, "unknown target kind "+l.kind)
	}

	// A target that does not answer is left alone for a while (its
	// circuit), and never holds more than its share of this worker's slots.
	shareKey, breaker := circuitKey(l)
	g, err := s.breakers.Admit(ctx, breaker, l.circuit, s.timeoutOf(l))
	if err != nil {
		return err
	}
	if g.Wait > 0 {
		return s.postponeFor(ctx, l, g.Wait, first, g.Why)
	}
	releaseShare, wait := s.deliveryShare.Take(ctx, shareKey)
	if wait > 0 {
		return s.postponeForLimit(ctx, l, wait, first)
	}
	defer releaseShare()

	release, wait, err := s.limiter.Acquire(ctx, l.kind+":"+l.targetID, lim)
	if err != nil {
		return err
	}
	if wait > 0 {
		return s.postponeForLimit(ctx, l, wait, first)
	}
	connLimits, err := s.connectionLimits(ctx, l)
	if err != nil {
		release(false)
		return err
	}
	if connLimits.RateLimit > 0 || connLimits.MaxConcurrency > 0 {
		// A connection's limits hold for everything sent through it: its
		// hooks' deliveries share them with whatever else sends through it.
		releaseConn, wait, err := s.limiter.Acquire(ctx, "connection:"+l.hConn.String, connLimits)
		if err != nil || wait > 0 {
			release(false) // nothing sent: the hook's own slot goes back whole
			if err != nil {
				return err
			}
			return s.postponeForLimit(ctx, l, wait, first)
		}
		defer releaseConn(true)
	}
	defer release(true)

	now := s.now()
	var (
		out      send.Outgoing
		schedule = s.opts.Schedule
		retry4xx bool
		prepErr  error
	)
	switch kind {
	case send.TargetHook:
		out, schedule, prepErr = s.hookRequest(l)
		retry4xx = l.hRetry4xx.Bool
	case send.TargetWebhook:
		out, prepErr = s.webhookRequest(l, now)
	case send.TargetCallback:
		out, prepErr = s.callbackRequest(l, now)
		schedule = l.callback.Schedule
	}
	if prepErr != nil && !errors.Is(prepErr, retry.ErrNever) {
		return prepErr
	}

	start := time.Now()
	x := send.Exchange(ctx, s.opts.Sender, out, prepErr, l.attempts+1, now, send.MaxStoredBody)
	releaseShare() // the target's part is done; recording the attempt is ours
	if x.Later != nil {
		return s.postponeForReauth(ctx, l, x.Later)
	}
	s.breakers.Observe(ctx, breaker, l.circuit, g, x)
	outcome := send.Classify(x.Attempt.Status, x.Err, kind, retry4xx)
	x.Attempt.Outcome = outcome.String()
	s.observeAttempt(kind.String(), outcome, time.Since(start))
	return s.conclude(ctx, l, kind, schedule, x.Attempt, outcome, x.RetryAfter)
}

// observeAttempt tells Options.ObserveAttempt of an attempt. The duration
// is measured on the wall clock, not s.now, which tests may fix.
func (s *Service) observeAttempt(targetKind string, outcome send.Outcome, took time.Duration) {
	if s.opts.ObserveAttempt != nil {
		s.opts.ObserveAttempt(targetKind, outcome.String(), took)
	}
}

// hookRequest renders an action hook's request for this delivery.
func (s *Service) hookRequest(l *loaded) (send.Outgoing, Schedule, error) {
	ch, err := s.hookFor(l)
	if err != nil {
		return send.Outgoing{Method: l.hMethod.String, URL: l.hURL.String}, s.opts.Schedule, err
	}
	out := send.Outgoing{
		ConnectionID: l.hConn.String, Method: l.hMethod.String, URL: l.hURL.String,
		Header: ch.header.Clone(), Timeout: s.timeoutOf(l),
	}
	// The delivery id is stable across retries, so the receiver can
	// recognise a repeat.
	out.Header["Idempotency-Key"] = []string{l.id}
	if ch.tmpl != nil {
		profile, err := DecodeObject([]byte(l.profile.String))
		if err != nil {
			return out, ch.schedule, retry.Never(fmt.Errorf("reading the event's profile: %w", err))
		}
		data, err := DecodeObject([]byte(l.data.String))
		if err != nil {
			return out, ch.schedule, retry.Never(fmt.Errorf("reading the event's data: %w", err))
		}
		body, err := ch.tmpl.Render(Scope{Event: EventInfo{ID: l.eventID, Type: l.eventType, OccurredAt: l.occurredAt.UTC()}, Profile: profile, Data: data})
		if err != nil {
			return out, ch.schedule, retry.Never(fmt.Errorf("rendering the body: %w", err))
		}
		out.Body = body
	}
	return out, ch.schedule, nil
}

// webhookRequest builds a signed Standard Webhooks request: the payload
// {id, type, timestamp, data}, where id is the event's id, and the headers
// webhook-id (the delivery id, the same on every attempt), webhook-timestamp
// (this attempt) and webhook-signature (one v1 per active secret).
func (s *Service) webhookRequest(l *loaded, now time.Time) (send.Outgoing, error) {
	signer, err := s.signerFor(l, now)
	if err != nil {
		return send.Outgoing{Method: http.MethodPost, URL: l.wURL.String}, err
	}
	return s.signedRequest(l, l.wURL.String, signer, now), nil
}

// callbackRequest is a callback delivery: the same signed request as an
// event webhook's, to the owner's URL with the owner's secret.
func (s *Service) callbackRequest(l *loaded, now time.Time) (send.Outgoing, error) {
	signer, err := NewSigner(l.callback.Secret)
	if err != nil {
		return send.Outgoing{Method: http.MethodPost, URL: l.callback.URL}, retry.Never(fmt.Errorf("the callback secret of %s %s: %w", l.kind, l.targetID, err))
	}
	return s.signedRequest(l, l.callback.URL, signer, now), nil
}

// callbackTarget asks the owner of a callback delivery where it goes.
func (s *Service) callbackTarget(ctx context.Context, ownerID string) (CallbackTarget, bool, error) {
	if s.opts.Callbacks == nil {
		return CallbackTarget{}, false, nil
	}
	return s.opts.Callbacks.CallbackTarget(ctx, ownerID)
}

// connectionLimits are the limits of the connection a hook's delivery goes
// through: none for other deliveries, or without Options.Connections.
func (s *Service) connectionLimits(ctx context.Context, l *loaded) (Limits, error) {
	if l.kind != "hook" || l.hConn.String == "" || s.opts.Connections == nil {
		return Limits{}, nil
	}
	rate, conc, _, err := s.opts.Connections.Limits(ctx, l.hConn.String)
	if err != nil {
		return Limits{}, err
	}
	return Limits{RateLimit: rate, MaxConcurrency: conc}, nil
}

// signedRequest is a Standard Webhooks POST of the delivery's event to u.
func (s *Service) signedRequest(l *loaded, u string, signer *Signer, now time.Time) send.Outgoing {
	out := send.Outgoing{Method: http.MethodPost, URL: u, Header: http.Header{}, Timeout: s.opts.RequestTimeout}
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
	out.Body = body
	out.Header["Content-Type"] = []string{"application/json"}
	signer.Apply(out.Header, l.id, now, body)
	return out
}

// postponeForReauth records why the delivery waits (its connection needs
// reconnecting, or is paused) and when it looks again; no attempt is used.
// Reconnecting or resuming wakes it sooner (ResumeConnection).
func (s *Service) postponeForReauth(ctx context.Context, l *loaded, cause error) error {
	now := s.now()
	wait := s.opts.ReauthRecheck
	msg := send.Waiting(cause)
	if _, err := s.opts.DB.ExecContext(context.WithoutCancel(ctx), `UPDATE deliveries SET status=$2, next_attempt_at=$3, last_error=$4, updated_at=$5 WHERE id=$1`,
		l.id, statusPostponed, now.Add(wait), msg, now); err != nil {
		return fmt.Errorf("postponing delivery %s: %w", l.id, err)
	}
	return &retry.Later{After: wait, Reason: msg}
}

// postponeForLimit makes a delivery wait for its target's (or its
// connection's) limit; no attempt is used. The delivery is marked
// postponed, due when it looks again, so that the API says why it waits
// and the sweep leaves it be; one in a batch (first) goes on in a task of
// its own. Waits under a limit are often a few milliseconds, one after
// another: a delivery already marked postponed is written again only once
// what the API shows is more than a second behind.
func (s *Service) postponeForLimit(ctx context.Context, l *loaded, wait time.Duration, first bool) error {
	return s.postponeFor(ctx, l, wait, first, "")
}

// postponeFor is postponeForLimit saying why, when why is not "" (an open
// circuit): that is written each time, the waits it makes being long.
func (s *Service) postponeFor(ctx context.Context, l *loaded, wait time.Duration, first bool, why string) error {
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
		return fmt.Errorf("postponing delivery %s: %w", l.id, err)
	}
	return &retry.Later{After: wait, Reason: why}
}

// timeoutOf is how long one attempt of the delivery may take.
func (s *Service) timeoutOf(l *loaded) time.Duration {
	if l.kind == "hook" && l.hTimeout.Int64 > 0 {
		return time.Duration(l.hTimeout.Int64) * time.Millisecond
	}
	return s.opts.RequestTimeout
}

// finishWithoutAttempt fails a delivery whose target is gone or disabled.
func (s *Service) finishWithoutAttempt(ctx context.Context, l *loaded, reason string) error {
	now := s.now()
	if _, err := s.opts.DB.ExecContext(context.WithoutCancel(ctx), `UPDATE deliveries SET status=$2, last_error=$3, finished_at=$4, updated_at=$4, next_attempt_at=NULL WHERE id=$1`,
		l.id, statusFailed, reason, now); err != nil {
		return fmt.Errorf("finishing delivery %s: %w", l.id, err)
	}
	return nil
}

// conclude records the attempt, moves the delivery on, and takes care of
// what follows: the webhook's failure run (and disabling), delivery.failed.
func (s *Service) conclude(ctx context.Context, l *loaded, kind send.TargetKind, schedule Schedule, a Attempt, outcome send.Outcome, retryAfter string) error {
	ctx = context.WithoutCancel(ctx) // what was sent is recorded even if the worker stops
	now := s.now()
	st := send.Advance(schedule, a.Number-l.retryBase, a, outcome, retryAfter, now, s.opts.Rand, s.opts.RetryAfterMax)
	if err := s.recordAttempt(ctx, l.id, a, st.Status, st.Next, st.Finished, st.LastError); err != nil {
		return err
	}

	if kind == send.TargetWebhook {
		if err := s.trackWebhook(ctx, l, outcome, now); err != nil {
			s.opts.Log.ErrorContext(ctx, "tracking webhook failures", "webhook_id", l.targetID, "error", err)
		}
	}
	if st.Status == statusFailed && l.eventType != EventDeliveryFailed && l.eventType != EventWebhookDisabled {
		data := map[string]any{
			"delivery_id": l.id, "event_id": l.eventID, "event_type": l.eventType,
			"target_kind": l.kind, "attempts": a.Number, "last_status": a.Status, "last_error": st.LastError,
		}
		data[l.kind+"_id"] = l.targetID
		if err := s.Record(ctx, EventDeliveryFailed, data); err != nil {
			s.opts.Log.ErrorContext(ctx, "recording delivery.failed", "delivery_id", l.id, "error", err)
		}
	}
	return st.Again
}
