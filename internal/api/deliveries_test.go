package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/config"
	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/app"
	"github.com/liaison/liaison/internal/metrics"
	"github.com/liaison/liaison/internal/oauthfake"
	"github.com/liaison/liaison/internal/secret"
	"github.com/liaison/liaison/jobs"
)

// deliveryBundle is the whole delivery path in one test: the API, the
// delivery engine, the connections service as its Sender (loopback allowed)
// and a real worker on the test's own Redis, with the retry schedule scaled
// to milliseconds.
type deliveryBundle struct {
	*testBundle
	hooks  *hooks.Service
	calls  *calls.Service
	conns  *connections.Service
	secret string // an access token with every scope this area needs
	ring   *secret.Ring
	opts   hooks.Options
	// metrics is what the bundle's /metrics serves, wired as cmd/liaison
	// wires the web process.
	metrics *metrics.Metrics
}

// testSchedule is DELIVERY_SCHEDULE scaled down: six attempts, the first at
// once, the rest 20–60 ms apart (asynq moves due retries every 100 ms).
var testSchedule = hooks.Schedule{0, 20 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond, 60 * time.Millisecond}

// deliveriesPublicURL is PUBLIC_URL in the delivery tests, and
// deliveriesRedirectURI the connections' redirect URI made of it; the
// browser's return to it is replayed against the test server.
const (
	deliveriesPublicURL   = "http://localhost"
	deliveriesRedirectURI = deliveriesPublicURL + "/oauth/callback"
)

// testWorker is the worker of the test bundles: 20 slots for tasks, the
// default for deliveries.
var testWorker = jobs.WorkerOptions{Concurrency: 20, ShutdownTimeout: time.Second}

func setupDeliveries(t *testing.T, tune func(*hooks.Options)) *deliveryBundle {
	t.Helper()
	return setupDeliveriesWith(t, testWorker, tune, nil)
}

// setupDeliveriesWith is setupDeliveries with the worker configured as
// given, tuning API calls too. The application is wired as the binary
// wires it (internal/app).
func setupDeliveriesWith(t *testing.T, wc jobs.WorkerOptions, tune func(*hooks.Options), tuneCalls func(*calls.Options)) *deliveryBundle {
	t.Helper()
	b := setup(t)
	ring := testRing(t)
	var opts hooks.Options
	a := b.startApp(t, app.Options{
		Config: workerConfig(wc, config.Config{PublicURL: deliveriesPublicURL, AllowedCIDRs: testLoopback, MaxBodyBytes: 4 << 20}),
		Ring:   ring,
		Hooks: tuned(&opts, func(o *hooks.Options) {
			o.Schedule, o.RotationOverlap, o.RequestTimeout, o.RetryAfterMax = testSchedule, time.Hour, 5*time.Second, 1500*time.Millisecond
		}, tune),
		Calls: tuneCalls,
	})
	a.Metrics.WatchQueues(a.Jobs.QueueTasks)
	// Feed imports tell of their runs' ends through the engine too.
	b.imports = a.Imports
	srv := httptest.NewServer(api.New(a.APIDeps()))
	t.Cleanup(srv.Close)
	b.srv = srv
	db := &deliveryBundle{testBundle: b, hooks: a.Hooks, calls: a.Calls, conns: a.Connections, ring: ring, opts: opts, metrics: a.Metrics}
	db.secret = b.token(t, access.ScopeEventsWrite, access.ScopeHooksRead, access.ScopeHooksWrite)
	return db
}

// call is b.do with the bundle's token, requiring the status.
func (b *deliveryBundle) call(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	resp, out := b.do(t, method, path, b.secret, body)
	require.Equal(t, want, resp.StatusCode, "%s %s answered %v", method, path, out)
	return out
}

// waitDelivery polls a delivery until it has the status.
func (b *deliveryBundle) waitDelivery(t *testing.T, id, status string) map[string]any {
	t.Helper()
	var last map[string]any
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		last = b.call(t, http.MethodGet, "/v1/deliveries/"+id, nil, http.StatusOK)
		if last["status"] == status || time.Now().After(deadline) {
			break
		}
	}
	require.Equal(t, status, last["status"], "delivery %s never became %s: %v", id, status, last)
	return last
}

func (b *deliveryBundle) event(t *testing.T, ev map[string]any) (eventID string, deliveries []string) {
	t.Helper()
	out := b.call(t, http.MethodPost, "/v1/events", ev, http.StatusAccepted)
	for _, d := range out["deliveries"].([]any) {
		deliveries = append(deliveries, d.(string))
	}
	return out["id"].(string), deliveries
}

// received is one request a receiver got.
type received struct {
	At     time.Time
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// receiver is an httptest server that records every request and answers
// with what answer says for the nth request (0-based).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int, r *http.Request, w http.ResponseWriter)
}

func newReceiver(t *testing.T, answer func(n int, r *http.Request, w http.ResponseWriter)) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, received{At: time.Now(), Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
		rc.mu.Unlock()
		if rc.answer == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		rc.answer(n, r, w)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (rc *receiver) waitFor(t *testing.T, n int) []received {
	t.Helper()
	require.Eventually(t, func() bool { return len(rc.requests()) >= n }, 10*time.Second, 5*time.Millisecond,
		"receiver got %d requests; want %d", len(rc.requests()), n)
	return rc.requests()
}

// answerStatuses answers the nth request with statuses[n], and 200 after.
// answerWith answers every request with status, header and body.
func answerWith(status int, header http.Header, body string) func(int, *http.Request, http.ResponseWriter) {
	return func(_ int, _ *http.Request, w http.ResponseWriter) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func answerStatuses(statuses ...int) func(int, *http.Request, http.ResponseWriter) {
	return func(n int, _ *http.Request, w http.ResponseWriter) {
		if n < len(statuses) {
			w.WriteHeader(statuses[n])
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

// verifyByHand checks a Standard Webhooks signature without hooks.Verify:
// HMAC-SHA256 over "id.timestamp.body" with the base64-decoded whsec_ key,
// base64 in a "v1," entry. It reports which of the space-separated entries
// matched.
func verifyByHand(t *testing.T, whsec string, h http.Header, body []byte) bool {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(whsec, "whsec_"))
	require.NoError(t, err)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if sig == want {
			return true
		}
	}
	return false
}

// verifyByReference checks a request with the Standard Webhooks project's
// own Go verifier, the one a new user of Liaison would reach for: it
// decodes the whsec_ secret, checks the timestamp is within its tolerance
// and accepts any matching v1 entry.
func verifyByReference(t *testing.T, whsec string, h http.Header, body []byte) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(whsec)
	require.NoError(t, err)
	return wh.Verify(body, h)
}

func TestStandardWebhooksSpecVector(t *testing.T) {
	t.Parallel()
	const (
		whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id    = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts    = "1614265330"
		body  = `{"test": 2432232314}`
		want  = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", want)
	require.True(t, verifyByHand(t, whsec, h, []byte(body)), "the hand-made HMAC reproduces the spec's vector")
	require.NoError(t, hooks.Verify(whsec, h, []byte(body), time.Unix(1614265330, 0), 0))
	ref, err := standardwebhooks.NewWebhook(whsec)
	require.NoError(t, err)
	require.NoError(t, ref.VerifyIgnoringTimestamp([]byte(body), h), "the reference verifier accepts the vector")

	signer, err := hooks.NewSigner(whsec)
	require.NoError(t, err)
	require.Equal(t, want, signer.Sign(id, time.Unix(1614265330, 0), []byte(body)))
	refSig, err := ref.Sign(id, time.Unix(1614265330, 0), []byte(body))
	require.NoError(t, err)
	require.Equal(t, refSig, signer.Sign(id, time.Unix(1614265330, 0), []byte(body)), "Liaison signs as the reference does")
}

func TestOneEventFansOutToHooksAndWebhooks(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, nil)
	crm := newReceiver(t, nil)
	sms := newReceiver(t, nil)
	wh1 := newReceiver(t, nil)
	wh2 := newReceiver(t, nil)
	other := newReceiver(t, nil)

	b.call(t, http.MethodPost, "/v1/hooks", map[string]any{
		"name": "CRM contact", "event_types": []string{"email.*"}, "url": crm.URL + "/contacts?src=liaison",
		"headers": map[string]string{"X-Source": "liaison"},
		"body": json.RawMessage(`{"email":"{{profile.email}}","age":"{{profile.age}}","vip":"{{profile.vip}}","tags":"{{profile.tags}}",
			"big":"{{profile.big}}","greeting":"Hi {{profile.name}}, re: {{data.subject}}","missing":"{{profile.nope}}","event":"{{event.type}}"}`),
	}, http.StatusCreated)
	b.call(t, http.MethodPost, "/v1/hooks", map[string]any{
		"name": "SMS", "event_types": []string{"email.opened"}, "url": sms.URL, "method": "PUT",
		"filter": map[string]any{"all": []any{map[string]any{"field": "profile.country", "op": "in", "value": []any{"DE", "FR"}}}},
		"body":   json.RawMessage(`{"to":"{{profile.phone}}"}`),
	}, http.StatusCreated)
	b.call(t, http.MethodPost, "/v1/hooks", map[string]any{
		"name": "Filtered out", "event_types": []string{"email.opened"}, "url": other.URL,
		"filter": map[string]any{"all": []any{map[string]any{"field": "profile.country", "op": "equals", "value": "US"}}},
	}, http.StatusCreated)
	w1 := b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": wh1.URL + "/hook", "event_types": []string{"email.opened"}}, http.StatusCreated)
	w2 := b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": wh2.URL, "event_types": []string{"*"}, "description": "everything"}, http.StatusCreated)
	b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": other.URL, "event_types": []string{"form.submitted"}}, http.StatusCreated)
	secret1, secret2 := w1["secret"].(string), w2["secret"].(string)
	require.True(t, strings.HasPrefix(secret1, "whsec_"))
	// The secret is shown on creation only.
	shown := b.call(t, http.MethodGet, "/v1/webhooks/"+w1["id"].(string), nil, http.StatusOK)
	require.NotContains(t, shown, "secret")
	lst := b.call(t, http.MethodGet, "/v1/webhooks", nil, http.StatusOK)
	require.NotContains(t, fmt.Sprint(lst), secret1)

	// An hour ago by the test's clock: well inside DELIVERY_RETENTION whatever the date.
	occurredAt := time.Now().UTC().Add(-time.Hour).Truncate(time.Second).Format(time.RFC3339)
	ev := map[string]any{
		"id": "evt-42", "type": "email.opened", "occurred_at": occurredAt,
		"profile": json.RawMessage(`{"email":"ada@example.com","name":"Ada \"the first\" <L>","age":36,"vip":true,"tags":["a","b"],"big":12345678901234567890,"country":"DE","phone":"+4930123"}`),
		"data":    json.RawMessage(`{"subject":"Ünïcode \u2028 line","campaign":7}`),
	}
	eventID, ids := b.event(t, ev)
	require.Equal(t, "evt-42", eventID)
	require.Len(t, ids, 4, "two hooks and two webhooks match; the filtered hook and the form webhook do not")

	got := crm.waitFor(t, 1)[0]
	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, "/contacts?src=liaison", got.Path)
	require.Equal(t, "liaison", got.Header.Get("X-Source"))
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	require.Contains(t, ids, got.Header.Get("Idempotency-Key"), "the Idempotency-Key is the delivery id")
	// Types kept, numbers exact, escaping right, missing path null.
	require.JSONEq(t, `{"email":"ada@example.com","age":36,"vip":true,"tags":["a","b"],"big":12345678901234567890,
		"greeting":"Hi Ada \"the first\" <L>, re: Ünïcode \u2028 line","missing":null,"event":"email.opened"}`, string(got.Body))
	require.Contains(t, string(got.Body), `"big":12345678901234567890`)

	sent := sms.waitFor(t, 1)[0]
	require.Equal(t, http.MethodPut, sent.Method)
	require.JSONEq(t, `{"to":"+4930123"}`, string(sent.Body))

	for _, c := range []struct {
		rc     *receiver
		secret string
		path   string
	}{{wh1, secret1, "/hook"}, {wh2, secret2, "/"}} {
		r := c.rc.waitFor(t, 1)[0]
		require.Equal(t, http.MethodPost, r.Method)
		require.Equal(t, c.path, r.Path)
		require.Contains(t, ids, r.Header.Get("webhook-id"), "webhook-id is the delivery id")
		require.NoError(t, hooks.Verify(c.secret, r.Header, r.Body, time.Now(), 0))
		require.True(t, verifyByHand(t, c.secret, r.Header, r.Body))
		require.NoError(t, verifyByReference(t, c.secret, r.Header, r.Body))
		require.Len(t, strings.Fields(r.Header.Get("webhook-signature")), 1, "one secret, one signature")
		var payload map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &payload))
		require.Equal(t, "evt-42", payload["id"])
		require.Equal(t, "email.opened", payload["type"])
		require.Equal(t, occurredAt, payload["timestamp"])
		require.Equal(t, map[string]any{"subject": "Ünïcode \u2028 line", "campaign": float64(7)}, payload["data"])
	}

	for _, id := range ids {
		d := b.waitDelivery(t, id, "succeeded")
		require.EqualValues(t, 1, d["attempt_count"])
		at := d["attempts"].([]any)[0].(map[string]any)
		require.EqualValues(t, 200, at["status"])
		require.Equal(t, "succeeded", at["outcome"])
	}

	// The same id again creates nothing.
	again := b.call(t, http.MethodPost, "/v1/events", ev, http.StatusAccepted)
	require.Equal(t, true, again["duplicate"])
	require.Empty(t, again["deliveries"])
	batch := b.call(t, http.MethodPost, "/v1/events/batch", map[string]any{"events": []any{ev}}, http.StatusAccepted)
	require.Equal(t, true, batch["results"].([]any)[0].(map[string]any)["duplicate"])
	time.Sleep(300 * time.Millisecond)
	for _, rc := range []*receiver{crm, sms, wh1, wh2} {
		require.Len(t, rc.requests(), 1, "a repeated event is not delivered again")
	}
	require.Empty(t, other.requests())

	shownEvent := b.call(t, http.MethodGet, "/v1/events/evt-42", nil, http.StatusOK)
	require.Equal(t, "email.opened", shownEvent["type"])
	require.Len(t, shownEvent["deliveries"], 4)
	require.Equal(t, "DE", shownEvent["profile"].(map[string]any)["country"])
	list := b.call(t, http.MethodGet, "/v1/deliveries?webhook="+w1["id"].(string), nil, http.StatusOK)
	require.Len(t, list["data"], 1)
	require.Equal(t, w1["id"], list["data"].([]any)[0].(map[string]any)["webhook_id"])
}

func TestRotationOverlapSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, func(o *hooks.Options) { o.RotationOverlap = 700 * time.Millisecond })
	rc := newReceiver(t, nil)
	w := b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL, "event_types": []string{"profile.updated"}}, http.StatusCreated)
	id := w["id"].(string)
	oldSecret := w["secret"].(string)

	rot := b.call(t, http.MethodPost, "/v1/webhooks/"+id+"/secret/rotate", nil, http.StatusOK)
	newSecret := rot["secret"].(string)
	require.NotEqual(t, oldSecret, newSecret)
	require.NotEmpty(t, rot["rotation_ends_at"])

	b.event(t, map[string]any{"type": "profile.updated", "data": map[string]any{"n": 1}})
	r := rc.waitFor(t, 1)[0]
	require.Len(t, strings.Fields(r.Header.Get("webhook-signature")), 2, "both secrets sign during the overlap")
	for _, s := range []string{oldSecret, newSecret} {
		require.NoError(t, hooks.Verify(s, r.Header, r.Body, time.Now(), 0))
		require.True(t, verifyByHand(t, s, r.Header, r.Body))
		require.NoError(t, verifyByReference(t, s, r.Header, r.Body), "a subscriber on either secret accepts it")
	}

	time.Sleep(800 * time.Millisecond)
	b.event(t, map[string]any{"type": "profile.updated", "data": map[string]any{"n": 2}})
	r = rc.waitFor(t, 2)[1]
	require.Len(t, strings.Fields(r.Header.Get("webhook-signature")), 1, "after the overlap only the new secret signs")
	require.NoError(t, hooks.Verify(newSecret, r.Header, r.Body, time.Now(), 0))
	require.ErrorIs(t, hooks.Verify(oldSecret, r.Header, r.Body, time.Now(), 0), hooks.ErrNoMatchingSignature)
	require.NoError(t, verifyByReference(t, newSecret, r.Header, r.Body))
	require.Error(t, verifyByReference(t, oldSecret, r.Header, r.Body), "the old secret no longer verifies")
}

// TestClassification walks every row of the classification table: what an
// answer (or its absence) makes of the delivery.
func TestClassification(t *testing.T) {
	t.Parallel()
	// The schedule is what is tested here: a circuit that opens after five
	// refused connections would postpone the last attempt instead
	// (TestHungEndpointCostsTheOthersNothing).
	b := setupDeliveries(t, func(o *hooks.Options) { o.CircuitFailures = 100 })
	closed := httptest.NewServer(http.NotFoundHandler())
	deadURL := closed.URL
	closed.Close()

	cases := []struct {
		name      string
		statuses  []int // answers in order, then 200
		url       string
		hook      map[string]any
		attempts  int
		status    string
		lastError string
	}{
		{name: "2xx done", statuses: []int{204}, attempts: 1, status: "succeeded"},
		{name: "3xx retried", statuses: []int{302}, attempts: 2, status: "succeeded"},
		{name: "408 retried", statuses: []int{408}, attempts: 2, status: "succeeded"},
		{name: "425 retried", statuses: []int{425}, attempts: 2, status: "succeeded"},
		{name: "429 retried", statuses: []int{429}, attempts: 2, status: "succeeded"},
		{name: "500 retried", statuses: []int{500, 502, 503}, attempts: 4, status: "succeeded"},
		{name: "400 fails at once", statuses: []int{400}, attempts: 1, status: "failed", lastError: "answered 400 Bad Request"},
		{name: "404 fails at once", statuses: []int{404}, attempts: 1, status: "failed"},
		{name: "410 fails a hook", statuses: []int{410}, attempts: 1, status: "failed"},
		{name: "4xx retried when the hook opts in", statuses: []int{404, 422}, hook: map[string]any{"retry_4xx": true}, attempts: 3, status: "succeeded"},
		{name: "exhausted", statuses: []int{500, 500, 500, 500, 500, 500, 500}, attempts: 6, status: "failed", lastError: "gave up after 6 attempts: answered 500 Internal Server Error"},
		{name: "max_attempts override", statuses: []int{503, 503, 503}, hook: map[string]any{"max_attempts": 2}, attempts: 2, status: "failed"},
		{name: "network error retried", url: deadURL, attempts: 6, status: "failed", lastError: "connection was refused"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			url := c.url
			if url == "" {
				url = newReceiver(t, answerStatuses(c.statuses...)).URL
			}
			typ := "test.case" + strconv.Itoa(i)
			hook := map[string]any{"name": c.name, "event_types": []string{typ}, "url": url, "body": json.RawMessage(`{"x":1}`)}
			for k, v := range c.hook {
				hook[k] = v
			}
			b.call(t, http.MethodPost, "/v1/hooks", hook, http.StatusCreated)
			_, ids := b.event(t, map[string]any{"type": typ})
			require.Len(t, ids, 1)
			d := b.waitDelivery(t, ids[0], c.status)
			require.EqualValues(t, c.attempts, d["attempt_count"])
			require.Len(t, d["attempts"], c.attempts)
			if c.lastError != "" {
				require.Contains(t, d["last_error"], c.lastError)
			}
			if c.status == "failed" {
				require.NotEmpty(t, d["finished_at"])
			}
		})
	}

	t.Run("timeout retried", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, func(n int, r *http.Request, w http.ResponseWriter) {
			if n == 0 {
				select {
				case <-time.After(2 * time.Second):
				case <-r.Context().Done():
				}
			}
			w.WriteHeader(http.StatusOK)
		})
		b.call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "slow", "event_types": []string{"test.slow"}, "url": rc.URL, "timeout_ms": 150}, http.StatusCreated)
		_, ids := b.event(t, map[string]any{"type": "test.slow"})
		d := b.waitDelivery(t, ids[0], "succeeded")
		first := d["attempts"].([]any)[0].(map[string]any)
		require.Contains(t, first["error"], "no answer within 150ms (timeout)")
		require.Equal(t, "retry", first["outcome"])
		require.EqualValues(t, 2, d["attempt_count"])
	})
}

func TestGoneDisablesWebhookAndSaysSo(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, nil)
	gone := newReceiver(t, answerStatuses(410))
	monitor := newReceiver(t, nil)
	w := b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": gone.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	mon := b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": monitor.URL, "event_types": []string{"webhook.disabled", "delivery.failed"}}, http.StatusCreated)
	_, ids := b.event(t, map[string]any{"type": "email.opened"})
	d := b.waitDelivery(t, ids[0], "failed")
	require.EqualValues(t, 1, d["attempt_count"])

	// The endpoint is disabled just after the attempt is recorded, so a
	// reader can see the failed delivery a moment before it.
	var shown map[string]any
	require.Eventually(t, func() bool {
		shown = b.call(t, http.MethodGet, "/v1/webhooks/"+w["id"].(string), nil, http.StatusOK)
		return shown["enabled"] == false
	}, 10*time.Second, 10*time.Millisecond, "the endpoint was never disabled")
	require.Contains(t, shown["disabled_reason"], "410 Gone")

	got := monitor.waitFor(t, 2)
	types := map[string]map[string]any{}
	for _, r := range got {
		require.NoError(t, hooks.Verify(mon["secret"].(string), r.Header, r.Body, time.Now(), 0))
		var p map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &p))
		types[p["type"].(string)] = p["data"].(map[string]any)
	}
	require.Equal(t, w["id"], types["webhook.disabled"]["webhook_id"])
	require.Equal(t, ids[0], types["delivery.failed"]["delivery_id"])

	// A disabled endpoint gets nothing more.
	b.event(t, map[string]any{"type": "email.opened"})
	time.Sleep(200 * time.Millisecond)
	require.Len(t, gone.requests(), 1)

	// Enabling it again clears the reason.
	shown = b.call(t, http.MethodPatch, "/v1/webhooks/"+w["id"].(string), map[string]any{"enabled": true}, http.StatusOK)
	require.Equal(t, true, shown["enabled"])
	require.Equal(t, "", shown["disabled_reason"])
}

func TestBinaryAnswerIsRecordedAsText(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, nil)
	// A receiver that answers with bytes PostgreSQL's text cannot hold
	// (U+0000) or that are not UTF-8 at all: the delivery succeeds and its
	// attempt is recorded once, with those bytes shown as U+FFFD.
	rc := newReceiver(t, answerWith(http.StatusOK, http.Header{"Content-Type": {"application/octet-stream"}}, "ok\x00\xff\x1f\x8b"))
	b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	_, ids := b.event(t, map[string]any{"type": "email.opened"})
	d := b.waitDelivery(t, ids[0], "succeeded")
	require.EqualValues(t, 1, d["attempt_count"])
	attempts := d["attempts"].([]any)
	require.Len(t, attempts, 1)
	require.Equal(t, "ok\uFFFD\uFFFD\x1f\uFFFD", attempts[0].(map[string]any)["response_body"])
	require.Len(t, rc.requests(), 1, "sent once: the attempt was recorded the first time")
}

func TestWebhookFailingForTooLongIsDisabled(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, func(o *hooks.Options) {
		o.DisableAfter = 250 * time.Millisecond
		o.Schedule = hooks.Schedule{0, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond,
			50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}
	})
	down := newReceiver(t, func(int, *http.Request, http.ResponseWriter) {}) // 200 never comes: see below
	down.answer = func(_ int, _ *http.Request, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) }
	monitor := newReceiver(t, nil)
	w := b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": down.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": monitor.URL, "event_types": []string{"webhook.disabled"}}, http.StatusCreated)
	b.event(t, map[string]any{"type": "email.opened"})
	require.Eventually(t, func() bool {
		shown := b.call(t, http.MethodGet, "/v1/webhooks/"+w["id"].(string), nil, http.StatusOK)
		return shown["enabled"] == false
	}, 10*time.Second, 20*time.Millisecond)
	shown := b.call(t, http.MethodGet, "/v1/webhooks/"+w["id"].(string), nil, http.StatusOK)
	require.Contains(t, shown["disabled_reason"], "every attempt failed for 250ms")
	r := monitor.waitFor(t, 1)[0]
	require.Contains(t, string(r.Body), `"type":"webhook.disabled"`)
}

func TestRetryAfterIsHonouredWithinBounds(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, nil)
	rc := newReceiver(t, func(n int, _ *http.Request, w http.ResponseWriter) {
		switch n {
		case 0:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case 1:
			w.Header().Set("Retry-After", "86400") // a day: clamped to RetryAfterMax, 1.5 s here
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	b.call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "ra", "event_types": []string{"email.opened"}, "url": rc.URL}, http.StatusCreated)
	_, ids := b.event(t, map[string]any{"type": "email.opened"})
	got := rc.waitFor(t, 2)
	require.GreaterOrEqual(t, got[1].At.Sub(got[0].At), 950*time.Millisecond, "Retry-After: 1 waits a second, not the schedule's 20 ms")
	d := b.call(t, http.MethodGet, "/v1/deliveries/"+ids[0], nil, http.StatusOK)
	if d["status"] == "retrying" {
		next, err := time.Parse(time.RFC3339Nano, d["next_attempt_at"].(string))
		require.NoError(t, err)
		require.Less(t, time.Until(next), 1600*time.Millisecond, "a day of Retry-After is clamped")
	}
	got = rc.waitFor(t, 3)
	wait := got[2].At.Sub(got[1].At)
	require.GreaterOrEqual(t, wait, 1400*time.Millisecond)
	require.Less(t, wait, 3*time.Second)
	b.waitDelivery(t, ids[0], "succeeded")
}

func TestReplayAndRetrySendAgain(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, nil)
	rc := newReceiver(t, answerStatuses(200, 200, 400))
	h := b.call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "r", "event_types": []string{"form.submitted"}, "url": rc.URL, "body": json.RawMessage(`{"f":"{{data.form}}"}`)}, http.StatusCreated)
	hookID := h["id"].(string)
	since := time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
	_, a := b.event(t, map[string]any{"type": "form.submitted", "data": map[string]any{"form": "a"}})
	_, c := b.event(t, map[string]any{"type": "form.submitted", "data": map[string]any{"form": "b"}})
	b.waitDelivery(t, a[0], "succeeded")
	b.waitDelivery(t, c[0], "succeeded")

	// Retrying a delivery that is not finished is a conflict; a finished one is sent again.
	out := b.call(t, http.MethodPost, "/v1/hooks/"+hookID+"/replay", map[string]any{"since": since}, http.StatusAccepted)
	require.EqualValues(t, 2, out["replayed"])
	got := rc.waitFor(t, 4)
	keys := map[string]int{}
	for _, r := range got {
		keys[r.Header.Get("Idempotency-Key")]++
	}
	require.Equal(t, map[string]int{a[0]: 2, c[0]: 2}, keys, "a replay carries the same Idempotency-Key")

	// One of the replays met a 400: failed, then retried by hand.
	var failed string
	require.Eventually(t, func() bool {
		l := b.call(t, http.MethodGet, "/v1/deliveries?status=failed&hook="+hookID, nil, http.StatusOK)
		if len(l["data"].([]any)) == 1 {
			failed = l["data"].([]any)[0].(map[string]any)["id"].(string)
			return true
		}
		return false
	}, 5*time.Second, 10*time.Millisecond)
	d := b.call(t, http.MethodPost, "/v1/deliveries/"+failed+"/retry", nil, http.StatusAccepted)
	require.Equal(t, "pending", d["status"])
	d = b.waitDelivery(t, failed, "succeeded")
	require.EqualValues(t, 3, d["attempt_count"], "attempts of every round are kept")

	resp, _ := b.do(t, http.MethodPost, "/v1/deliveries/dlv_nope/retry", b.secret, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, body := b.do(t, http.MethodPost, "/v1/hooks/"+hookID+"/replay", b.secret, map[string]any{})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%v", body)
}

func TestNeedsReauthPostponesThenResumes(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, func(o *hooks.Options) { o.ReauthRecheck = 200 * time.Millisecond })
	var mu sync.Mutex
	goodToken := "new-token"
	api := newReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+goodToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	ctx := context.Background()
	conn, err := b.conns.Create(ctx, connections.Input{Name: new("CRM"), AuthType: new("bearer"), BaseURL: new(api.URL + "/api"), Token: new("old-token")})
	require.NoError(t, err)
	b.call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "crm", "event_types": []string{"email.opened"}, "connection_id": conn.ID,
		"url": "contacts", "body": json.RawMessage(`{"e":"{{profile.email}}"}`)}, http.StatusCreated)

	_, ids := b.event(t, map[string]any{"type": "email.opened", "profile": map[string]any{"email": "a@b.c"}})
	d := b.waitDelivery(t, ids[0], "postponed")
	require.EqualValues(t, 0, d["attempt_count"], "waiting for a reconnection uses up no attempt")
	require.Contains(t, d["last_error"], "reconnected")
	// Each recheck looks again and writes when it will look next: watch
	// three go by, none of them using an attempt.
	rechecks, next := 0, nextAttempt(t, d)
	for deadline := time.Now().Add(15 * time.Second); rechecks < 3; time.Sleep(10 * time.Millisecond) {
		require.False(t, time.Now().After(deadline), "the delivery was rechecked %d times, not 3", rechecks)
		d = b.call(t, http.MethodGet, "/v1/deliveries/"+ids[0], nil, http.StatusOK)
		require.Equal(t, "postponed", d["status"])
		require.EqualValues(t, 0, d["attempt_count"], "a recheck uses up no attempt")
		if at := nextAttempt(t, d); at.After(next) {
			rechecks, next = rechecks+1, at
		}
	}

	// The person reconnects (a new token); the delivery goes through.
	_, err = b.conns.Update(ctx, conn.ID, connections.Input{Token: new("new-token")})
	require.NoError(t, err)
	d = b.waitDelivery(t, ids[0], "succeeded")
	require.EqualValues(t, 1, d["attempt_count"])
	at := d["attempts"].([]any)[0].(map[string]any)
	require.Equal(t, api.URL+"/api/contacts", at["url"], "the attempt shows where the request went")
	require.NotContains(t, fmt.Sprint(at["request_headers"]), "new-token", "credentials are never recorded")
	last := api.requests()[len(api.requests())-1]
	require.Equal(t, "/api/contacts", last.Path)
	require.JSONEq(t, `{"e":"a@b.c"}`, string(last.Body))
}

// nextAttempt is when a delivery, as the API shows it, looks again.
func nextAttempt(t *testing.T, d map[string]any) time.Time {
	t.Helper()
	s, ok := d["next_attempt_at"].(string)
	require.True(t, ok, "no next_attempt_at: %v", d)
	at, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return at
}

func TestReconnectionWakesPostponedDeliveriesAtOnce(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, func(o *hooks.Options) { o.ReauthRecheck = time.Hour })
	api, allow := refusedUntilAllowed(t)
	ctx := context.Background()
	conn, err := b.conns.Create(ctx, connections.Input{Name: new("CRM"), AuthType: new("bearer"), BaseURL: new(api.URL), Token: new("t")})
	require.NoError(t, err)
	b.call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "crm", "event_types": []string{"email.opened"}, "connection_id": conn.ID, "url": "/x"}, http.StatusCreated)
	_, ids := b.event(t, map[string]any{"type": "email.opened"})
	b.waitDelivery(t, ids[0], "postponed")
	allow()
	// What connections records when a connection is connected again.
	require.NoError(t, b.hooks.Record(ctx, hooks.EventConnectionConnected, map[string]any{"connection_id": conn.ID}))
	d := b.waitDelivery(t, ids[0], "succeeded")
	require.EqualValues(t, 1, d["attempt_count"])
}

// TestReconnectThroughTheCallbackWakesPostponedDeliveries: a delivery
// through an OAuth connection whose grant the user revoked waits; when the
// person reconnects through the real authorize and callback flow, the
// connections service records connection.connected and the delivery goes
// out at once, not at the next recheck (an hour here).
func TestReconnectThroughTheCallbackWakesPostponedDeliveries(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, func(o *hooks.Options) { o.ReauthRecheck = time.Hour })
	p := connProvider(t, deliveriesRedirectURI, oauthfake.Options{RequirePKCE: true, RotateRefreshTokens: true})
	admin := b.token(t, access.ScopeConnectionsWrite, access.ScopeConnectionsRead)
	resp, c := b.do(t, http.MethodPost, "/v1/connections", admin, map[string]any{
		"name": "CRM", "auth_type": "oauth2_authorization_code", "base_url": p.URL() + "/api",
		"client_id": connClientID, "client_secret": connClientSecret, "client_auth": "client_secret_basic",
		"authorization_url": p.AuthorizeURL(), "token_url": p.TokenURL(), "scopes": []string{"contacts.read", "offline_access"},
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", c)
	id := c["id"].(string)
	connect := func() {
		t.Helper()
		_, auth := b.do(t, http.MethodPost, "/v1/connections/"+id+"/authorize", admin, nil)
		back, err := p.Visit(context.Background(), auth["authorize_url"].(string))
		require.NoError(t, err)
		resp, err := http.Get(b.srv.URL + "/oauth/callback?" + back.RawQuery) // the browser comes back
		require.NoError(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", page)
	}
	connect()
	b.call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "crm", "event_types": []string{"email.opened"}, "connection_id": id,
		"url": "contacts", "body": json.RawMessage(`{"e":"{{profile.email}}"}`)}, http.StatusCreated)

	p.RevokeAll() // the user disconnects the app at the provider
	_, ids := b.event(t, map[string]any{"type": "email.opened", "profile": map[string]any{"email": "a@b.c"}})
	d := b.waitDelivery(t, ids[0], "postponed")
	require.EqualValues(t, 0, d["attempt_count"])
	_, c = b.do(t, http.MethodGet, "/v1/connections/"+id, admin, nil)
	require.Equal(t, "needs_reauth", c["status"])

	connect()
	d = b.waitDelivery(t, ids[0], "succeeded")
	require.EqualValues(t, 1, d["attempt_count"])
	require.Equal(t, 2, p.Requests("/api/contacts"), "refused once before the wait, sent once after reconnecting")
}

func TestTemplateMissingPathCanFailTheDelivery(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, nil)
	rc := newReceiver(t, nil)
	b.call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "strict", "event_types": []string{"email.opened"}, "url": rc.URL,
		"missing": "fail", "body": json.RawMessage(`{"email":"{{profile.email}}"}`)}, http.StatusCreated)
	_, ids := b.event(t, map[string]any{"type": "email.opened", "profile": map[string]any{"name": "no email"}})
	d := b.waitDelivery(t, ids[0], "failed")
	require.EqualValues(t, 1, d["attempt_count"])
	require.Contains(t, d["last_error"], "profile.email")
	require.Empty(t, rc.requests(), "nothing is sent when the body cannot be rendered")

	// Bad templates are refused when saved, naming the place.
	resp, body := b.do(t, http.MethodPost, "/v1/hooks", b.secret, map[string]any{"name": "bad", "event_types": []string{"email.opened"},
		"url": rc.URL, "body": json.RawMessage(`{"a":"{{profile.}}"}`)})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, fmt.Sprint(body["errors"]), "body.a")
}

func TestHookTestRendersAndSendsOnce(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, nil)
	rc := newReceiver(t, answerWith(http.StatusAccepted, http.Header{"Set-Cookie": {"session=abc"}}, `{"ok":true}`))
	h := b.call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "t", "event_types": []string{"email.opened"}, "url": rc.URL,
		"headers": map[string]string{"X-Api-Key": "k3y"}, "body": json.RawMessage(`{"email":"{{profile.email}}","age":"{{profile.age}}"}`)}, http.StatusCreated)
	out := b.call(t, http.MethodPost, "/v1/hooks/"+h["id"].(string)+"/test", map[string]any{}, http.StatusOK)
	require.JSONEq(t, `{"email":"ada@example.com","age":36}`, string(mustJSON(t, out["body"])))
	require.Equal(t, false, out["sent"])
	require.Empty(t, rc.requests(), "without send nothing goes out")

	out = b.call(t, http.MethodPost, "/v1/hooks/"+h["id"].(string)+"/test", map[string]any{"send": true,
		"event": map[string]any{"type": "email.opened", "profile": map[string]any{"email": "x@y.z", "age": 3}}}, http.StatusOK)
	require.Equal(t, true, out["sent"])
	require.Equal(t, "succeeded", out["outcome"])
	req := out["request"].(map[string]any)
	require.EqualValues(t, 202, req["status"])
	require.Equal(t, `{"ok":true}`, req["response_body"])
	require.Equal(t, "[removed]", req["request_headers"].(map[string]any)["X-Api-Key"], "secrets are removed from what is shown")
	require.Equal(t, "[removed]", req["response_headers"].(map[string]any)["Set-Cookie"])
	got := rc.waitFor(t, 1)
	require.Len(t, got, 1)
	require.Equal(t, "k3y", got[0].Header.Get("X-Api-Key"))
	require.JSONEq(t, `{"email":"x@y.z","age":3}`, string(got[0].Body))
	l := b.call(t, http.MethodGet, "/v1/deliveries", nil, http.StatusOK)
	require.Empty(t, l["data"], "a test is no delivery")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestBatchReportsBadEventsByIndex(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, nil)
	rc := newReceiver(t, nil)
	b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL, "event_types": []string{"email.*"}}, http.StatusCreated)
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	out := b.call(t, http.MethodPost, "/v1/events/batch", map[string]any{"events": []any{
		map[string]any{"id": "b1", "type": "email.opened"},
		map[string]any{"id": "b2", "type": "Email Opened"},
		map[string]any{"id": "b3", "type": "email.clicked", "occurred_at": time.Now().Add(48 * time.Hour)},
		map[string]any{"id": "b4", "type": "email.clicked", "profile": json.RawMessage(deep)},
		map[string]any{"id": "b5", "type": "email.clicked", "data": []int{1}},
		map[string]any{"id": "b6", "type": "email.sent"},
		// PostgreSQL cannot store U+0000 in JSON: refused for what it is,
		// on either database, rather than failing the whole intake.
		map[string]any{"id": "b7", "type": "email.sent", "profile": map[string]any{"name": "a\x00b"}},
		map[string]any{"id": "b8", "type": "email.sent", "data": map[string]any{"tags": []any{map[string]any{"k\x00": 1}}}},
		map[string]any{"id": "b9", "type": "email.sent", "data": json.RawMessage(`{"note":"a\\u0000 is fine written out","max":1.5e308}`)},
		// jsonb keeps numbers in full: 1e131071 would be stored as 131,072
		// characters, and 0e-20000 is refused.
		map[string]any{"id": "b10", "type": "email.sent", "data": json.RawMessage(`{"n":[1,{"big":1e131071}]}`)},
		map[string]any{"id": "b11", "type": "email.sent", "profile": json.RawMessage(`{"n":0e-20000}`)},
	}}, http.StatusAccepted)
	require.EqualValues(t, 3, out["accepted"])
	require.EqualValues(t, 8, out["rejected"])
	res := out["results"].([]any)
	errsOf := func(i int) string { return fmt.Sprint(res[i].(map[string]any)["errors"]) }
	require.Equal(t, "b1", res[0].(map[string]any)["id"])
	require.Contains(t, errsOf(1), "events[1].type")
	require.Contains(t, errsOf(2), "events[2].occurred_at")
	require.Contains(t, errsOf(3), "events[3].profile")
	require.Contains(t, errsOf(4), "events[4].data")
	require.Equal(t, "b6", res[5].(map[string]any)["id"])
	require.Contains(t, errsOf(6), "events[6].profile")
	require.Contains(t, errsOf(6), "U+0000")
	require.Contains(t, errsOf(7), "events[7].data")
	require.Equal(t, "b9", res[8].(map[string]any)["id"])
	require.Contains(t, errsOf(9), "events[9].data")
	require.Contains(t, errsOf(9), "at n[1].big")
	require.Contains(t, errsOf(9), "exponent")
	require.Contains(t, errsOf(10), "events[10].profile")
	rc.waitFor(t, 3)

	resp, body := b.do(t, http.MethodPost, "/v1/events", b.secret, map[string]any{"type": "nope"})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, fmt.Sprint(body["errors"]), "type")
	many := make([]map[string]any, hooks.MaxBatch+1)
	for i := range many {
		many[i] = map[string]any{"type": "email.sent"}
	}
	resp, _ = b.do(t, http.MethodPost, "/v1/events/batch", b.secret, map[string]any{"events": many})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)

	// Scopes: intake needs events.write, hooks need hooks.* .
	onlyEvents := b.token(t, access.ScopeEventsWrite)
	resp, _ = b.do(t, http.MethodGet, "/v1/hooks", onlyEvents, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	readOnly := b.token(t, access.ScopeHooksRead)
	resp, _ = b.do(t, http.MethodPost, "/v1/events", readOnly, map[string]any{"type": "email.sent"})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestNULInAFieldIsRefusedByName(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, nil)
	rc := newReceiver(t, nil)
	// PostgreSQL's text cannot hold U+0000: such a field failed the request
	// with a 500. Every request body is checked, naming the field.
	manager := b.token(t, access.ScopeTokensManage)
	for _, c := range []struct {
		path, secret string
		body         any
		field        string
	}{
		{"/v1/hooks", b.secret, map[string]any{"name": "a\x00b", "event_types": []string{"email.opened"}, "url": rc.URL}, "name"},
		{"/v1/hooks", b.secret, map[string]any{"name": "h", "event_types": []string{"email.opened"}, "url": rc.URL, "headers": map[string]string{"X-A\x00": "v"}}, "headers.X-A\x00"},
		{"/v1/webhooks", b.secret, map[string]any{"url": rc.URL, "description": "a\x00", "event_types": []string{"email.opened"}}, "description"},
		{"/v1/webhooks", b.secret, map[string]any{"url": rc.URL, "event_types": []string{"email.opened", "email.\x00"}}, "event_types[1]"},
		{"/v1/events", b.secret, map[string]any{"id": "e\x00", "type": "email.opened"}, "id"},
		{"/v1/tokens", manager, map[string]any{"name": "t\x00", "scopes": []string{access.ScopeHooksRead}}, "name"},
	} {
		resp, body := b.do(t, http.MethodPost, c.path, c.secret, c.body)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%s %v", c.path, body)
		errs := body["errors"].([]any)
		require.Equal(t, c.field, errs[0].(map[string]any)["field"], c.path)
		require.Contains(t, errs[0].(map[string]any)["message"], "U+0000")
	}
	// Free-form JSON is sent as JSON text: an escaped U+0000 in a hook's
	// body template is kept and sent as written.
	b.call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "raw", "event_types": []string{"email.opened"}, "url": rc.URL,
		"body": json.RawMessage(`{"a":"x\u0000y"}`)}, http.StatusCreated)
	b.event(t, map[string]any{"type": "email.opened"})
	got := rc.waitFor(t, 1)
	require.JSONEq(t, `{"a":"x\u0000y"}`, string(got[0].Body))
}

func TestPerTargetLimitsWaitWithoutFailing(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, nil)

	slow, most := slowReceiver(t, 60*time.Millisecond)
	paced := newReceiver(t, nil)
	b.call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "capped", "event_types": []string{"limit.conc"}, "url": slow.URL, "max_concurrency": 2}, http.StatusCreated)
	b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": paced.URL, "event_types": []string{"limit.rate"}, "rate_limit": 10}, http.StatusCreated)

	var events []any
	for i := range 8 {
		events = append(events, map[string]any{"id": "c" + strconv.Itoa(i), "type": "limit.conc"})
		events = append(events, map[string]any{"id": "r" + strconv.Itoa(i), "type": "limit.rate"})
	}
	b.call(t, http.MethodPost, "/v1/events/batch", map[string]any{"events": events}, http.StatusAccepted)
	slow.waitFor(t, 8)
	got := paced.waitFor(t, 8)
	seen := most()
	require.LessOrEqual(t, seen, 2, "never more than max_concurrency in flight")
	require.Equal(t, 2, seen)
	span := got[7].At.Sub(got[0].At)
	require.GreaterOrEqual(t, span, 650*time.Millisecond, "10 per second: 8 requests take at least 0.7 s")

	l := b.call(t, http.MethodGet, "/v1/deliveries?limit=200", nil, http.StatusOK)
	require.Len(t, l["data"], 16)
	for _, d := range l["data"].([]any) {
		d := d.(map[string]any)
		b.waitDelivery(t, d["id"].(string), "succeeded")
		dd := b.call(t, http.MethodGet, "/v1/deliveries/"+d["id"].(string), nil, http.StatusOK)
		require.EqualValues(t, 1, dd["attempt_count"], "waiting for a limit uses up no attempt")
	}
}

func TestDeliveryAloneWaitingForALimitSaysSo(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, nil)
	// The endpoint takes one request at a time. The first delivery fails
	// (400); while a second holds the one place, the first is retried by
	// hand and must wait: the API shows it postponed, due after the retry.
	rc := newReceiver(t, func(n int, _ *http.Request, w http.ResponseWriter) {
		switch n {
		case 0:
			w.WriteHeader(http.StatusBadRequest)
		case 1:
			time.Sleep(1500 * time.Millisecond)
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL, "event_types": []string{"email.opened"}, "max_concurrency": 1}, http.StatusCreated)
	_, first := b.event(t, map[string]any{"type": "email.opened"})
	b.waitDelivery(t, first[0], "failed")
	b.event(t, map[string]any{"type": "email.opened"})
	rc.waitFor(t, 2) // the second is under way, holding the place

	retried := time.Now()
	b.call(t, http.MethodPost, "/v1/deliveries/"+first[0]+"/retry", nil, http.StatusAccepted)
	d := b.waitDelivery(t, first[0], "postponed")
	next, err := time.Parse(time.RFC3339Nano, d["next_attempt_at"].(string))
	require.NoError(t, err)
	require.True(t, next.After(retried), "due after the retry, not at %s", next)
	require.EqualValues(t, 1, d["attempt_count"], "waiting uses up no attempt")

	d = b.waitDelivery(t, first[0], "succeeded")
	require.EqualValues(t, 2, d["attempt_count"])
	require.Len(t, rc.requests(), 3)
}

func TestRetentionRemovesOldDeliveriesAndEvents(t *testing.T) {
	t.Parallel()
	b := setupDeliveries(t, nil)
	rc := newReceiver(t, nil)
	b.call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	_, ids := b.event(t, map[string]any{"id": "old", "type": "email.opened"})
	b.waitDelivery(t, ids[0], "succeeded")

	// Now is kept by the service that cleans: one whose clock is a day
	// ahead sees the delivery as older than a retention of 12 h.
	opts := b.opts
	opts.Retention = 12 * time.Hour
	opts.Now = func() time.Time { return time.Now().Add(24 * time.Hour) }
	later, err := hooks.New(opts)
	require.NoError(t, err)
	// Cleaning with the usual clock removes nothing.
	nd, ne, err := b.hooks.Clean(context.Background())
	require.NoError(t, err)
	require.Zero(t, nd+ne)
	nd, ne, err = later.Clean(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 1, nd)
	require.EqualValues(t, 1, ne)
	resp, _ := b.do(t, http.MethodGet, "/v1/deliveries/"+ids[0], b.secret, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	var attempts int
	require.NoError(t, b.db.QueryRowContext(context.Background(), `SELECT count(*) FROM attempts WHERE delivery_id = $1`, ids[0]).Scan(&attempts))
	require.Zero(t, attempts, "the delivery's attempts went with it")
	resp, _ = b.do(t, http.MethodGet, "/v1/events/old", b.secret, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// The scheduler runs it every hour, beside the sweep.
	tasks, err := jobs.DeliveryHousekeeping{}.PeriodicTasks()
	require.NoError(t, err)
	var types []string
	for _, tk := range tasks {
		types = append(types, tk.Task.Type()+" "+tk.Cronspec)
	}
	require.ElementsMatch(t, []string{"delivery:sweep @every 5s", "delivery:clean @every 1h"}, types)
}

// refusedUntilAllowed is a receiver that answers 401 (a credential it
// refuses) until allow is called, and 200 after.
func refusedUntilAllowed(t *testing.T) (rc *receiver, allow func()) {
	var allowed atomic.Bool
	rc = newReceiver(t, func(_ int, _ *http.Request, w http.ResponseWriter) {
		if !allowed.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	return rc, func() { allowed.Store(true) }
}

// slowReceiver answers 200 after hold, and most reports the most requests
// it has had in flight at once (read without holding its lock across an
// assertion: a failing one would leave the receiver blocked).
func slowReceiver(t *testing.T, hold time.Duration) (rc *receiver, most func() int) {
	t.Helper()
	var mu sync.Mutex
	inFlight, peak := 0, 0
	rc = newReceiver(t, func(_ int, _ *http.Request, w http.ResponseWriter) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		time.Sleep(hold)
		mu.Lock()
		inFlight--
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	return rc, func() int {
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
