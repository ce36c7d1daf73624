package calls

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/send"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/id"
	"github.com/liaison/liaison/internal/retry"
)

// callAttemptInsert inserts the attempt of a call.
var callAttemptInsert = send.AttemptInsert("call_id")

// queuedCall is a call as RunCall needs it.
type queuedCall struct {
	id, state, connectionID, method, path string
	query, headers                        map[string]string
	body                                  sql.NullString
	callbackURL                           string
	schedule                              hooks.Schedule
	retry4xx                              bool
	timeoutMS                             int
	attempts, retryBase                   int
	key                                   sql.NullString
	createdAt                             time.Time
	// circuit is the connection's circuit breaker (circuit.go).
	circuit send.CircuitRow
}

func (s *Service) loadCall(ctx context.Context, id string) (*queuedCall, error) {
	var (
		c                        queuedCall
		query, headers, schedule string
	)
	err := s.opts.DB.QueryRowContext(ctx, `SELECT c.id, c.state, c.connection_id, c.method, c.path, c.query, c.headers, c.body, c.callback_url,
		c.schedule, c.retry_4xx, c.timeout_ms, c.attempts, c.retry_base, c.idempotency_key, c.created_at, `+send.CircuitColumns+`
		FROM calls c LEFT JOIN circuits ci ON ci.target = 'connection:' || c.connection_id WHERE c.id = $1`, id).
		Scan(append([]any{&c.id, &c.state, &c.connectionID, &c.method, &c.path, &query, &headers, &c.body, &c.callbackURL,
			&schedule, &c.retry4xx, &c.timeoutMS, &c.attempts, &c.retryBase, &c.key, &c.createdAt}, c.circuit.ScanArgs()...)...)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(query), &c.query); err != nil {
		return nil, fmt.Errorf("reading call %s query: %w", id, err)
	}
	if c.headers, err = s.opts.Ring.OpenHeaders(headers, callHeadersAAD(id)); err != nil {
		return nil, fmt.Errorf("opening call %s headers: %w", id, err)
	}
	if c.schedule, err = send.ParseSchedule(schedule); err != nil {
		return nil, fmt.Errorf("reading call %s schedule: %w", id, err)
	}
	c.createdAt = c.createdAt.UTC()
	return &c, nil
}

// request is what the call sends. Its id is the Idempotency-Key, stable
// across retries, unless the call sets its own.
func (c *queuedCall) request(timeout time.Duration) send.Outgoing {
	out := send.Outgoing{ConnectionID: c.connectionID, Method: c.method, URL: c.path, Header: make(http.Header, len(c.headers)+1), Timeout: timeout}
	if c.timeoutMS > 0 {
		out.Timeout = time.Duration(c.timeoutMS) * time.Millisecond
	}
	if len(c.query) > 0 {
		if u, err := url.Parse(c.path); err == nil {
			q := u.Query()
			for k, v := range c.query {
				q.Set(k, v)
			}
			u.RawQuery = q.Encode()
			out.URL = u.String()
		}
	}
	for k, v := range c.headers {
		out.Header[k] = []string{v}
	}
	if _, ok := out.Header["Idempotency-Key"]; !ok {
		out.Header["Idempotency-Key"] = []string{c.id}
	}
	if c.body.Valid {
		out.Body = []byte(c.body.String)
	}
	return out
}

// Run makes one attempt of a call, or finds that none is due, and says
// what should follow, as hooks.Service.Deliver does for a delivery: the same executor,
// classification and schedule, the attempt in the same table. Over the
// connection's limits, or while the connection needs reauthorization, the
// call waits without using up an attempt; so does it after a 429, up to
// maxFreeRateLimits times. It returns nil when the call is done, a
// *retry.Later when it runs again (after a failed attempt, or a wait that
// uses up none), and any other error when the attempt could not even be
// judged; the queue runs it again later.
func (s *Service) Run(ctx context.Context, id string) error {
	c, err := s.loadCall(ctx, id)
	if errors.Is(err, db.ErrNoRows) {
		return nil // removed by retention
	}
	if err != nil {
		return fmt.Errorf("loading call %s: %w", id, err)
	}
	if c.state == CallSucceeded || c.state == CallFailed {
		return nil // a stale duplicate run
	}

	// A connection removed since is no error here: the request is refused
	// before it is sent, and the call fails with the reason.
	rate, conc, _, err := s.opts.Connections.Limits(ctx, c.connectionID)
	if err != nil {
		return err
	}
	// As a delivery: an open circuit waits, a connection holds no more
	// than its share of this worker's slots.
	out := c.request(s.opts.RequestTimeout)
	key := "connection:" + c.connectionID
	g, err := s.opts.Breakers.Admit(ctx, key, c.circuit, out.Timeout)
	if err != nil {
		return err
	}
	if g.Wait > 0 {
		return s.postponeCallFor(ctx, c, g.Wait, g.Why)
	}
	releaseShare, wait := s.share.Take(ctx, key)
	if wait > 0 {
		return &retry.Later{After: wait}
	}
	defer releaseShare()
	release, wait, err := s.limiter.Acquire(ctx, "connection:"+c.connectionID, send.Limits{RateLimit: rate, MaxConcurrency: conc})
	if err != nil {
		return err
	}
	if wait > 0 {
		return &retry.Later{After: wait}
	}
	defer release(true)

	now := s.now()
	// Running, until a little past the attempt's timeout: the sweep leaves
	// it alone until then. A postponed call stays postponed while it looks
	// whether its connection is back, lest it flicker at every look.
	if _, err := s.opts.DB.ExecContext(ctx, `UPDATE calls SET state = $2, next_attempt_at = $3, updated_at = $4 WHERE id = $1 AND state NOT IN ($5, $6, $7)`,
		c.id, CallRunning, now.Add(out.Timeout+time.Minute), now, CallSucceeded, CallFailed, CallPostponed); err != nil {
		return fmt.Errorf("starting call %s: %w", c.id, err)
	}
	start := time.Now()
	x := send.Exchange(ctx, s.opts.Sender, out, nil, c.attempts+1, now, maxCallResponse)
	releaseShare() // the target's part is done; recording the attempt is ours
	if x.Later != nil {
		return s.postponeCall(ctx, c, x.Later)
	}
	s.opts.Breakers.Observe(ctx, key, c.circuit, g, x)
	outcome := send.Classify(x.Attempt.Status, x.Err, send.TargetCall, c.retry4xx)
	x.Attempt.Outcome = outcome.String()
	if s.opts.ObserveAttempt != nil {
		s.opts.ObserveAttempt(send.TargetCall.String(), outcome.String(), time.Since(start))
	}
	return s.concludeCall(ctx, c, x, outcome)
}

// postponeCall records why the call waits (its connection needs
// reconnecting, or is paused) and when it looks again; no attempt is used.
// Reconnecting or resuming the connection wakes it sooner.
func (s *Service) postponeCall(ctx context.Context, c *queuedCall, cause error) error {
	return s.postponeCallFor(ctx, c, s.opts.ReauthRecheck, send.Waiting(cause))
}

// postponeCallFor makes a call wait, saying why; no attempt is used.
func (s *Service) postponeCallFor(ctx context.Context, c *queuedCall, wait time.Duration, msg string) error {
	now := s.now()
	if _, err := s.opts.DB.ExecContext(context.WithoutCancel(ctx), `UPDATE calls SET state = $2, next_attempt_at = $3, last_error = $4, updated_at = $5 WHERE id = $1`,
		c.id, CallPostponed, now.Add(wait), msg, now); err != nil {
		return fmt.Errorf("postponing call %s: %w", c.id, err)
	}
	return &retry.Later{After: wait, Reason: msg}
}

// concludeCall records the attempt and moves the call on, in one
// transaction with, when the call ended and has a callback URL, the
// call.completed event and its delivery to that URL. Then it queues the
// callback and tells whoever waits that the call ended.
func (s *Service) concludeCall(ctx context.Context, c *queuedCall, x send.Exchanged, outcome send.Outcome) error {
	ctx = context.WithoutCancel(ctx) // what was sent is recorded even if the worker stops
	now := s.now()
	a := x.Attempt
	retryBase := c.retryBase
	var st send.Step
	if outcome == send.Retry && a.Status == http.StatusTooManyRequests && retryBase < maxFreeRateLimits {
		// "Not now" is no failure: the attempt is kept, the schedule's
		// round does not move on.
		retryBase++
		st = s.rateLimited(c.schedule, a.Number-retryBase, x.RetryAfter, now)
	} else {
		st = send.Advance(c.schedule, a.Number-retryBase, a, outcome, x.RetryAfter, now, s.opts.Rand, s.opts.RetryAfterMax)
	}

	var callback, event string
	var data []byte
	if st.Again == nil && c.callbackURL != "" {
		callback, event = id.NewHex("dlv_"), id.NewHex("evt_")
		v := callResult{Call: Call{ID: c.id, State: st.Status, ConnectionID: c.connectionID, Method: c.method, Path: c.path,
			IdempotencyKey: c.key.String, Response: responseOf(a), AttemptCount: a.Number, LastError: st.LastError,
			Callback: &CallCallback{URL: c.callbackURL, DeliveryID: callback}, CreatedAt: c.createdAt, UpdatedAt: now, FinishedAt: &now}}
		var err error
		if data, err = json.Marshal(v); err != nil {
			return fmt.Errorf("encoding the result of call %s: %w", c.id, err)
		}
	}
	err := s.opts.DB.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, callAttemptInsert, send.AttemptArgs(c.id, a)...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE calls SET state = $2, attempts = $3, retry_base = $4, next_attempt_at = $5, finished_at = $6,
			last_status = $7, last_error = $8, callback_delivery_id = $9, updated_at = $10 WHERE id = $1`,
			c.id, st.Status, a.Number, retryBase, st.Next, st.Finished, a.Status, st.LastError, callback, now); err != nil {
			return err
		}
		if callback == "" {
			return nil
		}
		return s.opts.Callbacks.AddCallback(ctx, tx, hooks.Callback{DeliveryID: callback, EventID: event, OwnerID: c.id,
			EventType: EventCallCompleted, Data: data, At: now})
	})
	if err != nil {
		return fmt.Errorf("recording attempt %d of call %s: %w", a.Number, c.id, err)
	}
	if callback != "" {
		if err := s.opts.Callbacks.QueueCallback(ctx, callback); err != nil {
			s.opts.Log.ErrorContext(ctx, "queueing a call's callback; the sweep will queue it", "call_id", c.id, "error", err)
		}
	}
	if st.Again == nil {
		s.announceCallEnded(ctx, c.id)
	}
	return st.Again
}

// rateLimited is the step after a 429 that uses up no attempt: the wait
// the answer asks for (Retry-After, from a second up to the whole schedule
// or RetryAfterMax, whichever is shorter), or else the schedule's wait
// before the attempt that is made again.
func (s *Service) rateLimited(schedule hooks.Schedule, round int, retryAfter string, now time.Time) send.Step {
	st := send.Step{LastError: "answered 429 Too Many Requests; trying again without using up an attempt"}
	delay, ok := schedule.Delay(round, s.opts.Rand)
	if !ok && len(schedule) > 0 {
		delay = schedule[len(schedule)-1]
	}
	hi := max(minRateLimitWait, min(s.opts.RetryAfterMax, schedule.Span()))
	if ra, ok := send.ParseRetryAfter(retryAfter, now); ok {
		delay = send.ClampRetryAfter(ra, minRateLimitWait, hi)
	} else {
		delay = min(max(delay, minRateLimitWait), hi)
	}
	st.RetryIn(delay, now)
	return st
}
