package hooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/oauthfake"
	"github.com/liaison/liaison/jobs"
)

func TestOneEventFansOutToHooksAndWebhooks(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	crm := apptest.NewReceiver(t, nil)
	sms := apptest.NewReceiver(t, nil)
	wh1 := apptest.NewReceiver(t, nil)
	wh2 := apptest.NewReceiver(t, nil)
	other := apptest.NewReceiver(t, nil)

	b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{
		"name": "CRM contact", "event_types": []string{"email.*"}, "url": crm.URL + "/contacts?src=liaison",
		"headers": map[string]string{"X-Source": "liaison"},
		"body": json.RawMessage(`{"email":"{{profile.email}}","age":"{{profile.age}}","vip":"{{profile.vip}}","tags":"{{profile.tags}}",
			"big":"{{profile.big}}","greeting":"Hi {{profile.name}}, re: {{data.subject}}","missing":"{{profile.nope}}","event":"{{event.type}}"}`),
	}, http.StatusCreated)
	b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{
		"name": "SMS", "event_types": []string{"email.opened"}, "url": sms.URL, "method": "PUT",
		"filter": map[string]any{"all": []any{map[string]any{"field": "profile.country", "op": "in", "value": []any{"DE", "FR"}}}},
		"body":   json.RawMessage(`{"to":"{{profile.phone}}"}`),
	}, http.StatusCreated)
	b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{
		"name": "Filtered out", "event_types": []string{"email.opened"}, "url": other.URL,
		"filter": map[string]any{"all": []any{map[string]any{"field": "profile.country", "op": "equals", "value": "US"}}},
	}, http.StatusCreated)
	w1 := b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": wh1.URL + "/hook", "event_types": []string{"email.opened"}}, http.StatusCreated)
	w2 := b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": wh2.URL, "event_types": []string{"*"}, "description": "everything"}, http.StatusCreated)
	b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": other.URL, "event_types": []string{"form.submitted"}}, http.StatusCreated)
	secret1, secret2 := w1["secret"].(string), w2["secret"].(string)
	require.True(t, strings.HasPrefix(secret1, "whsec_"))
	// The secret is shown on creation only.
	shown := b.Call(t, http.MethodGet, "/v1/webhooks/"+w1["id"].(string), nil, http.StatusOK)
	require.NotContains(t, shown, "secret")
	lst := b.Call(t, http.MethodGet, "/v1/webhooks", nil, http.StatusOK)
	require.NotContains(t, fmt.Sprint(lst), secret1)

	// An hour ago by the test's clock: well inside DELIVERY_RETENTION whatever the date.
	occurredAt := time.Now().UTC().Add(-time.Hour).Truncate(time.Second).Format(time.RFC3339)
	ev := map[string]any{
		"id": "evt-42", "type": "email.opened", "occurred_at": occurredAt,
		"profile": json.RawMessage(`{"email":"ada@example.com","name":"Ada \"the first\" <L>","age":36,"vip":true,"tags":["a","b"],"big":12345678901234567890,"country":"DE","phone":"+4930123"}`),
		"data":    json.RawMessage(`{"subject":"Ünïcode \u2028 line","campaign":7}`),
	}
	eventID, ids := b.Event(t, ev)
	require.Equal(t, "evt-42", eventID)
	require.Len(t, ids, 4, "two hooks and two webhooks match; the filtered hook and the form webhook do not")

	got := crm.WaitFor(t, 1)[0]
	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, "/contacts?src=liaison", got.Path)
	require.Equal(t, "liaison", got.Header.Get("X-Source"))
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	require.Contains(t, ids, got.Header.Get("Idempotency-Key"), "the Idempotency-Key is the delivery id")
	// Types kept, numbers exact, escaping right, missing path null.
	require.JSONEq(t, `{"email":"ada@example.com","age":36,"vip":true,"tags":["a","b"],"big":12345678901234567890,
		"greeting":"Hi Ada \"the first\" <L>, re: Ünïcode \u2028 line","missing":null,"event":"email.opened"}`, string(got.Body))
	require.Contains(t, string(got.Body), `"big":12345678901234567890`)

	sent := sms.WaitFor(t, 1)[0]
	require.Equal(t, http.MethodPut, sent.Method)
	require.JSONEq(t, `{"to":"+4930123"}`, string(sent.Body))

	for _, c := range []struct {
		rc     *apptest.Receiver
		secret string
		path   string
	}{{wh1, secret1, "/hook"}, {wh2, secret2, "/"}} {
		r := c.rc.WaitFor(t, 1)[0]
		require.Equal(t, http.MethodPost, r.Method)
		require.Equal(t, c.path, r.Path)
		require.Contains(t, ids, r.Header.Get("webhook-id"), "webhook-id is the delivery id")
		require.NoError(t, hooks.Verify(c.secret, r.Header, r.Body, time.Now(), 0))
		require.True(t, apptest.VerifyByHand(t, c.secret, r.Header, r.Body))
		require.NoError(t, apptest.VerifyByReference(t, c.secret, r.Header, r.Body))
		require.Len(t, strings.Fields(r.Header.Get("webhook-signature")), 1, "one secret, one signature")
		var payload map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &payload))
		require.Equal(t, "evt-42", payload["id"])
		require.Equal(t, "email.opened", payload["type"])
		require.Equal(t, occurredAt, payload["timestamp"])
		require.Equal(t, map[string]any{"subject": "Ünïcode \u2028 line", "campaign": float64(7)}, payload["data"])
	}

	for _, id := range ids {
		d := b.WaitDelivery(t, id, "succeeded")
		require.EqualValues(t, 1, d["attempt_count"])
		at := d["attempts"].([]any)[0].(map[string]any)
		require.EqualValues(t, 200, at["status"])
		require.Equal(t, "succeeded", at["outcome"])
	}

	// The same id again creates nothing.
	again := b.Call(t, http.MethodPost, "/v1/events", ev, http.StatusAccepted)
	require.Equal(t, true, again["duplicate"])
	require.Empty(t, again["deliveries"])
	batch := b.Call(t, http.MethodPost, "/v1/events/batch", map[string]any{"events": []any{ev}}, http.StatusAccepted)
	require.Equal(t, true, batch["results"].([]any)[0].(map[string]any)["duplicate"])
	time.Sleep(300 * time.Millisecond)
	for _, rc := range []*apptest.Receiver{crm, sms, wh1, wh2} {
		require.Len(t, rc.Requests(), 1, "a repeated event is not delivered again")
	}
	require.Empty(t, other.Requests())

	shownEvent := b.Call(t, http.MethodGet, "/v1/events/evt-42", nil, http.StatusOK)
	require.Equal(t, "email.opened", shownEvent["type"])
	require.Len(t, shownEvent["deliveries"], 4)
	require.Equal(t, "DE", shownEvent["profile"].(map[string]any)["country"])
	list := b.Call(t, http.MethodGet, "/v1/deliveries?webhook="+w1["id"].(string), nil, http.StatusOK)
	require.Len(t, list["data"], 1)
	require.Equal(t, w1["id"], list["data"].([]any)[0].(map[string]any)["webhook_id"])
}

func TestRotationOverlapSignsWithBothSecrets(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, func(o *hooks.Options) { o.RotationOverlap = 700 * time.Millisecond })
	rc := apptest.NewReceiver(t, nil)
	w := b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL, "event_types": []string{"profile.updated"}}, http.StatusCreated)
	id := w["id"].(string)
	oldSecret := w["secret"].(string)

	rot := b.Call(t, http.MethodPost, "/v1/webhooks/"+id+"/secret/rotate", nil, http.StatusOK)
	newSecret := rot["secret"].(string)
	require.NotEqual(t, oldSecret, newSecret)
	require.NotEmpty(t, rot["rotation_ends_at"])

	b.Event(t, map[string]any{"type": "profile.updated", "data": map[string]any{"n": 1}})
	r := rc.WaitFor(t, 1)[0]
	require.Len(t, strings.Fields(r.Header.Get("webhook-signature")), 2, "both secrets sign during the overlap")
	for _, s := range []string{oldSecret, newSecret} {
		require.NoError(t, hooks.Verify(s, r.Header, r.Body, time.Now(), 0))
		require.True(t, apptest.VerifyByHand(t, s, r.Header, r.Body))
		require.NoError(t, apptest.VerifyByReference(t, s, r.Header, r.Body), "a subscriber on either secret accepts it")
	}

	time.Sleep(800 * time.Millisecond)
	b.Event(t, map[string]any{"type": "profile.updated", "data": map[string]any{"n": 2}})
	r = rc.WaitFor(t, 2)[1]
	require.Len(t, strings.Fields(r.Header.Get("webhook-signature")), 1, "after the overlap only the new secret signs")
	require.NoError(t, hooks.Verify(newSecret, r.Header, r.Body, time.Now(), 0))
	require.ErrorIs(t, hooks.Verify(oldSecret, r.Header, r.Body, time.Now(), 0), hooks.ErrNoMatchingSignature)
	require.NoError(t, apptest.VerifyByReference(t, newSecret, r.Header, r.Body))
	require.Error(t, apptest.VerifyByReference(t, oldSecret, r.Header, r.Body), "the old secret no longer verifies")
}

// TestClassification walks every row of the classification table: what an
// answer (or its absence) makes of the delivery.
func TestClassification(t *testing.T) {
	t.Parallel()
	// The schedule is what is tested here: a circuit that opens after five
	// refused connections would postpone the last attempt instead
	// (TestHungEndpointCostsTheOthersNothing).
	b := apptest.SetupDeliveries(t, func(o *hooks.Options) { o.CircuitFailures = 100 })
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
				url = apptest.NewReceiver(t, apptest.AnswerStatuses(c.statuses...)).URL
			}
			typ := "test.case" + strconv.Itoa(i)
			hook := map[string]any{"name": c.name, "event_types": []string{typ}, "url": url, "body": json.RawMessage(`{"x":1}`)}
			for k, v := range c.hook {
				hook[k] = v
			}
			b.Call(t, http.MethodPost, "/v1/hooks", hook, http.StatusCreated)
			_, ids := b.Event(t, map[string]any{"type": typ})
			require.Len(t, ids, 1)
			d := b.WaitDelivery(t, ids[0], c.status)
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
		rc := apptest.NewReceiver(t, func(n int, r *http.Request, w http.ResponseWriter) {
			if n == 0 {
				select {
				case <-time.After(2 * time.Second):
				case <-r.Context().Done():
				}
			}
			w.WriteHeader(http.StatusOK)
		})
		b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "slow", "event_types": []string{"test.slow"}, "url": rc.URL, "timeout_ms": 150}, http.StatusCreated)
		_, ids := b.Event(t, map[string]any{"type": "test.slow"})
		d := b.WaitDelivery(t, ids[0], "succeeded")
		first := d["attempts"].([]any)[0].(map[string]any)
		require.Contains(t, first["error"], "no answer within 150ms (timeout)")
		require.Equal(t, "retry", first["outcome"])
		require.EqualValues(t, 2, d["attempt_count"])
	})
}

func TestGoneDisablesWebhookAndSaysSo(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	gone := apptest.NewReceiver(t, apptest.AnswerStatuses(410))
	monitor := apptest.NewReceiver(t, nil)
	w := b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": gone.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	mon := b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": monitor.URL, "event_types": []string{"webhook.disabled", "delivery.failed"}}, http.StatusCreated)
	_, ids := b.Event(t, map[string]any{"type": "email.opened"})
	d := b.WaitDelivery(t, ids[0], "failed")
	require.EqualValues(t, 1, d["attempt_count"])

	// The endpoint is disabled just after the attempt is recorded, so a
	// reader can see the failed delivery a moment before it.
	var shown map[string]any
	require.Eventually(t, func() bool {
		shown = b.Call(t, http.MethodGet, "/v1/webhooks/"+w["id"].(string), nil, http.StatusOK)
		return shown["enabled"] == false
	}, 10*time.Second, 10*time.Millisecond, "the endpoint was never disabled")
	require.Contains(t, shown["disabled_reason"], "410 Gone")

	got := monitor.WaitFor(t, 2)
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
	b.Event(t, map[string]any{"type": "email.opened"})
	time.Sleep(200 * time.Millisecond)
	require.Len(t, gone.Requests(), 1)

	// Enabling it again clears the reason.
	shown = b.Call(t, http.MethodPatch, "/v1/webhooks/"+w["id"].(string), map[string]any{"enabled": true}, http.StatusOK)
	require.Equal(t, true, shown["enabled"])
	require.Equal(t, "", shown["disabled_reason"])
}

func TestBinaryAnswerIsRecordedAsText(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	// A receiver that answers with bytes PostgreSQL's text cannot hold
	// (U+0000) or that are not UTF-8 at all: the delivery succeeds and its
	// attempt is recorded once, with those bytes shown as U+FFFD.
	rc := apptest.NewReceiver(t, apptest.AnswerWith(http.StatusOK, http.Header{"Content-Type": {"application/octet-stream"}}, "ok\x00\xff\x1f\x8b"))
	b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	_, ids := b.Event(t, map[string]any{"type": "email.opened"})
	d := b.WaitDelivery(t, ids[0], "succeeded")
	require.EqualValues(t, 1, d["attempt_count"])
	attempts := d["attempts"].([]any)
	require.Len(t, attempts, 1)
	require.Equal(t, "ok\uFFFD\uFFFD\x1f\uFFFD", attempts[0].(map[string]any)["response_body"])
	require.Len(t, rc.Requests(), 1, "sent once: the attempt was recorded the first time")
}

func TestWebhookFailingForTooLongIsDisabled(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, func(o *hooks.Options) {
		o.DisableAfter = 250 * time.Millisecond
		o.Schedule = hooks.Schedule{0, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond,
			50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}
	})
	down := apptest.NewReceiver(t, func(int, *http.Request, http.ResponseWriter) {}) // 200 never comes: see below
	down.Answer = func(_ int, _ *http.Request, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) }
	monitor := apptest.NewReceiver(t, nil)
	w := b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": down.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": monitor.URL, "event_types": []string{"webhook.disabled"}}, http.StatusCreated)
	b.Event(t, map[string]any{"type": "email.opened"})
	require.Eventually(t, func() bool {
		shown := b.Call(t, http.MethodGet, "/v1/webhooks/"+w["id"].(string), nil, http.StatusOK)
		return shown["enabled"] == false
	}, 10*time.Second, 20*time.Millisecond)
	shown := b.Call(t, http.MethodGet, "/v1/webhooks/"+w["id"].(string), nil, http.StatusOK)
	require.Contains(t, shown["disabled_reason"], "every attempt failed for 250ms")
	r := monitor.WaitFor(t, 1)[0]
	require.Contains(t, string(r.Body), `"type":"webhook.disabled"`)
}

func TestRetryAfterIsHonouredWithinBounds(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	rc := apptest.NewReceiver(t, func(n int, _ *http.Request, w http.ResponseWriter) {
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
	b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "ra", "event_types": []string{"email.opened"}, "url": rc.URL}, http.StatusCreated)
	_, ids := b.Event(t, map[string]any{"type": "email.opened"})
	got := rc.WaitFor(t, 2)
	require.GreaterOrEqual(t, got[1].At.Sub(got[0].At), 950*time.Millisecond, "Retry-After: 1 waits a second, not the schedule's 20 ms")
	d := b.Call(t, http.MethodGet, "/v1/deliveries/"+ids[0], nil, http.StatusOK)
	if d["status"] == "retrying" {
		next, err := time.Parse(time.RFC3339Nano, d["next_attempt_at"].(string))
		require.NoError(t, err)
		require.Less(t, time.Until(next), 1600*time.Millisecond, "a day of Retry-After is clamped")
	}
	got = rc.WaitFor(t, 3)
	wait := got[2].At.Sub(got[1].At)
	require.GreaterOrEqual(t, wait, 1400*time.Millisecond)
	require.Less(t, wait, 3*time.Second)
	b.WaitDelivery(t, ids[0], "succeeded")
}

func TestReplayAndRetrySendAgain(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	rc := apptest.NewReceiver(t, apptest.AnswerStatuses(200, 200, 400))
	h := b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "r", "event_types": []string{"form.submitted"}, "url": rc.URL, "body": json.RawMessage(`{"f":"{{data.form}}"}`)}, http.StatusCreated)
	hookID := h["id"].(string)
	since := time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
	_, a := b.Event(t, map[string]any{"type": "form.submitted", "data": map[string]any{"form": "a"}})
	_, c := b.Event(t, map[string]any{"type": "form.submitted", "data": map[string]any{"form": "b"}})
	b.WaitDelivery(t, a[0], "succeeded")
	b.WaitDelivery(t, c[0], "succeeded")

	// Retrying a delivery that is not finished is a conflict; a finished one is sent again.
	out := b.Call(t, http.MethodPost, "/v1/hooks/"+hookID+"/replay", map[string]any{"since": since}, http.StatusAccepted)
	require.EqualValues(t, 2, out["replayed"])
	got := rc.WaitFor(t, 4)
	keys := map[string]int{}
	for _, r := range got {
		keys[r.Header.Get("Idempotency-Key")]++
	}
	require.Equal(t, map[string]int{a[0]: 2, c[0]: 2}, keys, "a replay carries the same Idempotency-Key")

	// One of the replays met a 400: failed, then retried by hand.
	var failed string
	require.Eventually(t, func() bool {
		l := b.Call(t, http.MethodGet, "/v1/deliveries?status=failed&hook="+hookID, nil, http.StatusOK)
		if len(l["data"].([]any)) == 1 {
			failed = l["data"].([]any)[0].(map[string]any)["id"].(string)
			return true
		}
		return false
	}, 5*time.Second, 10*time.Millisecond)
	d := b.Call(t, http.MethodPost, "/v1/deliveries/"+failed+"/retry", nil, http.StatusAccepted)
	require.Equal(t, "pending", d["status"])
	d = b.WaitDelivery(t, failed, "succeeded")
	require.EqualValues(t, 3, d["attempt_count"], "attempts of every round are kept")

	resp, _ := b.Do(t, http.MethodPost, "/v1/deliveries/dlv_nope/retry", b.Secret, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, body := b.Do(t, http.MethodPost, "/v1/hooks/"+hookID+"/replay", b.Secret, map[string]any{})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%v", body)
}

func TestNeedsReauthPostponesThenResumes(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, func(o *hooks.Options) { o.ReauthRecheck = 200 * time.Millisecond })
	var mu sync.Mutex
	goodToken := "new-token"
	api := apptest.NewReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+goodToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	ctx := context.Background()
	conn, err := b.Conns.Create(ctx, connections.Input{Name: new("CRM"), AuthType: new("bearer"), BaseURL: new(api.URL + "/api"), Token: new("old-token")})
	require.NoError(t, err)
	b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "crm", "event_types": []string{"email.opened"}, "connection_id": conn.ID,
		"url": "contacts", "body": json.RawMessage(`{"e":"{{profile.email}}"}`)}, http.StatusCreated)

	_, ids := b.Event(t, map[string]any{"type": "email.opened", "profile": map[string]any{"email": "a@b.c"}})
	d := b.WaitDelivery(t, ids[0], "postponed")
	require.EqualValues(t, 0, d["attempt_count"], "waiting for a reconnection uses up no attempt")
	require.Contains(t, d["last_error"], "reconnected")
	// Each recheck looks again and writes when it will look next: watch
	// three go by, none of them using an attempt.
	rechecks, next := 0, nextAttempt(t, d)
	for deadline := time.Now().Add(15 * time.Second); rechecks < 3; time.Sleep(10 * time.Millisecond) {
		require.False(t, time.Now().After(deadline), "the delivery was rechecked %d times, not 3", rechecks)
		d = b.Call(t, http.MethodGet, "/v1/deliveries/"+ids[0], nil, http.StatusOK)
		require.Equal(t, "postponed", d["status"])
		require.EqualValues(t, 0, d["attempt_count"], "a recheck uses up no attempt")
		if at := nextAttempt(t, d); at.After(next) {
			rechecks, next = rechecks+1, at
		}
	}

	// The person reconnects (a new token); the delivery goes through.
	_, err = b.Conns.Update(ctx, conn.ID, connections.Input{Token: new("new-token")})
	require.NoError(t, err)
	d = b.WaitDelivery(t, ids[0], "succeeded")
	require.EqualValues(t, 1, d["attempt_count"])
	at := d["attempts"].([]any)[0].(map[string]any)
	require.Equal(t, api.URL+"/api/contacts", at["url"], "the attempt shows where the request went")
	require.NotContains(t, fmt.Sprint(at["request_headers"]), "new-token", "credentials are never recorded")
	last := api.Requests()[len(api.Requests())-1]
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
	b := apptest.SetupDeliveries(t, func(o *hooks.Options) { o.ReauthRecheck = time.Hour })
	api, allow := apptest.RefusedUntilAllowed(t)
	ctx := context.Background()
	conn, err := b.Conns.Create(ctx, connections.Input{Name: new("CRM"), AuthType: new("bearer"), BaseURL: new(api.URL), Token: new("t")})
	require.NoError(t, err)
	b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "crm", "event_types": []string{"email.opened"}, "connection_id": conn.ID, "url": "/x"}, http.StatusCreated)
	_, ids := b.Event(t, map[string]any{"type": "email.opened"})
	b.WaitDelivery(t, ids[0], "postponed")
	allow()
	// What connections records when a connection is connected again.
	require.NoError(t, b.Hooks.Record(ctx, hooks.EventConnectionConnected, map[string]any{"connection_id": conn.ID}))
	d := b.WaitDelivery(t, ids[0], "succeeded")
	require.EqualValues(t, 1, d["attempt_count"])
}

// TestReconnectThroughTheCallbackWakesPostponedDeliveries: a delivery
// through an OAuth connection whose grant the user revoked waits; when the
// person reconnects through the real authorize and callback flow, the
// connections service records connection.connected and the delivery goes
// out at once, not at the next recheck (an hour here).
func TestReconnectThroughTheCallbackWakesPostponedDeliveries(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, func(o *hooks.Options) { o.ReauthRecheck = time.Hour })
	p := apptest.Provider(t, apptest.DeliveriesRedirectURI, oauthfake.Options{RequirePKCE: true, RotateRefreshTokens: true})
	admin := b.Token(t, access.ScopeConnectionsWrite, access.ScopeConnectionsRead)
	resp, c := b.Do(t, http.MethodPost, "/v1/connections", admin, map[string]any{
		"name": "CRM", "auth_type": "oauth2_authorization_code", "base_url": p.URL() + "/api",
		"client_id": apptest.ClientID, "client_secret": apptest.ClientSecret, "client_auth": "client_secret_basic",
		"authorization_url": p.AuthorizeURL(), "token_url": p.TokenURL(), "scopes": []string{"contacts.read", "offline_access"},
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", c)
	id := c["id"].(string)
	connect := func() {
		t.Helper()
		_, auth := b.Do(t, http.MethodPost, "/v1/connections/"+id+"/authorize", admin, nil)
		back, err := p.Visit(context.Background(), auth["authorize_url"].(string))
		require.NoError(t, err)
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(b.Server.URL + "/oauth/callback?" + back.RawQuery) // the browser comes back
		require.NoError(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "%s", page)
		require.Equal(t, "/connections/"+id+"?connect=ok", resp.Header.Get("Location"), "back on the connection's page")
	}
	connect()
	b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "crm", "event_types": []string{"email.opened"}, "connection_id": id,
		"url": "contacts", "body": json.RawMessage(`{"e":"{{profile.email}}"}`)}, http.StatusCreated)

	p.RevokeAll() // the user disconnects the app at the provider
	_, ids := b.Event(t, map[string]any{"type": "email.opened", "profile": map[string]any{"email": "a@b.c"}})
	d := b.WaitDelivery(t, ids[0], "postponed")
	require.EqualValues(t, 0, d["attempt_count"])
	_, c = b.Do(t, http.MethodGet, "/v1/connections/"+id, admin, nil)
	require.Equal(t, "needs_reauth", c["status"])

	connect()
	d = b.WaitDelivery(t, ids[0], "succeeded")
	require.EqualValues(t, 1, d["attempt_count"])
	require.Equal(t, 2, p.Requests("/api/contacts"), "refused once before the wait, sent once after reconnecting")
}

func TestTemplateMissingPathCanFailTheDelivery(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	rc := apptest.NewReceiver(t, nil)
	b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "strict", "event_types": []string{"email.opened"}, "url": rc.URL,
		"missing": "fail", "body": json.RawMessage(`{"email":"{{profile.email}}"}`)}, http.StatusCreated)
	_, ids := b.Event(t, map[string]any{"type": "email.opened", "profile": map[string]any{"name": "no email"}})
	d := b.WaitDelivery(t, ids[0], "failed")
	require.EqualValues(t, 1, d["attempt_count"])
	require.Contains(t, d["last_error"], "profile.email")
	require.Empty(t, rc.Requests(), "nothing is sent when the body cannot be rendered")

	// Bad templates are refused when saved, naming the place.
	resp, body := b.Do(t, http.MethodPost, "/v1/hooks", b.Secret, map[string]any{"name": "bad", "event_types": []string{"email.opened"},
		"url": rc.URL, "body": json.RawMessage(`{"a":"{{profile.}}"}`)})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, fmt.Sprint(body["errors"]), "body.a")
}

func TestHookTestRendersAndSendsOnce(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	rc := apptest.NewReceiver(t, apptest.AnswerWith(http.StatusAccepted, http.Header{"Set-Cookie": {"session=abc"}}, `{"ok":true}`))
	h := b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "t", "event_types": []string{"email.opened"}, "url": rc.URL,
		"headers": map[string]string{"X-Api-Key": "k3y"}, "body": json.RawMessage(`{"email":"{{profile.email}}","age":"{{profile.age}}"}`)}, http.StatusCreated)
	out := b.Call(t, http.MethodPost, "/v1/hooks/"+h["id"].(string)+"/test", map[string]any{}, http.StatusOK)
	require.JSONEq(t, `{"email":"ada@example.com","age":36}`, string(mustJSON(t, out["body"])))
	require.Equal(t, false, out["sent"])
	require.Empty(t, rc.Requests(), "without send nothing goes out")

	out = b.Call(t, http.MethodPost, "/v1/hooks/"+h["id"].(string)+"/test", map[string]any{"send": true,
		"event": map[string]any{"type": "email.opened", "profile": map[string]any{"email": "x@y.z", "age": 3}}}, http.StatusOK)
	require.Equal(t, true, out["sent"])
	require.Equal(t, "succeeded", out["outcome"])
	req := out["request"].(map[string]any)
	require.EqualValues(t, 202, req["status"])
	require.Equal(t, `{"ok":true}`, req["response_body"])
	require.Equal(t, "[removed]", req["request_headers"].(map[string]any)["X-Api-Key"], "secrets are removed from what is shown")
	require.Equal(t, "[removed]", req["response_headers"].(map[string]any)["Set-Cookie"])
	got := rc.WaitFor(t, 1)
	require.Len(t, got, 1)
	require.Equal(t, "k3y", got[0].Header.Get("X-Api-Key"))
	require.JSONEq(t, `{"email":"x@y.z","age":3}`, string(got[0].Body))
	l := b.Call(t, http.MethodGet, "/v1/deliveries", nil, http.StatusOK)
	require.Empty(t, l["data"], "a test is no delivery")
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestPerTargetLimitsWaitWithoutFailing(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)

	slow, most := apptest.SlowReceiver(t, 60*time.Millisecond)
	paced := apptest.NewReceiver(t, nil)
	b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "capped", "event_types": []string{"limit.conc"}, "url": slow.URL, "max_concurrency": 2}, http.StatusCreated)
	b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": paced.URL, "event_types": []string{"limit.rate"}, "rate_limit": 10}, http.StatusCreated)

	var events []any
	for i := range 8 {
		events = append(events, map[string]any{"id": "c" + strconv.Itoa(i), "type": "limit.conc"})
		events = append(events, map[string]any{"id": "r" + strconv.Itoa(i), "type": "limit.rate"})
	}
	b.Call(t, http.MethodPost, "/v1/events/batch", map[string]any{"events": events}, http.StatusAccepted)
	slow.WaitFor(t, 8)
	got := paced.WaitFor(t, 8)
	seen := most()
	require.LessOrEqual(t, seen, 2, "never more than max_concurrency in flight")
	require.Equal(t, 2, seen)
	span := got[7].At.Sub(got[0].At)
	require.GreaterOrEqual(t, span, 650*time.Millisecond, "10 per second: 8 requests take at least 0.7 s")

	l := b.Call(t, http.MethodGet, "/v1/deliveries?limit=200", nil, http.StatusOK)
	require.Len(t, l["data"], 16)
	for _, d := range l["data"].([]any) {
		d := d.(map[string]any)
		b.WaitDelivery(t, d["id"].(string), "succeeded")
		dd := b.Call(t, http.MethodGet, "/v1/deliveries/"+d["id"].(string), nil, http.StatusOK)
		require.EqualValues(t, 1, dd["attempt_count"], "waiting for a limit uses up no attempt")
	}
}

func TestDeliveryAloneWaitingForALimitSaysSo(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	// The endpoint takes one request at a time. The first delivery fails
	// (400); while a second holds the one place, the first is retried by
	// hand and must wait: the API shows it postponed, due after the retry.
	rc := apptest.NewReceiver(t, func(n int, _ *http.Request, w http.ResponseWriter) {
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
	b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL, "event_types": []string{"email.opened"}, "max_concurrency": 1}, http.StatusCreated)
	_, first := b.Event(t, map[string]any{"type": "email.opened"})
	b.WaitDelivery(t, first[0], "failed")
	b.Event(t, map[string]any{"type": "email.opened"})
	rc.WaitFor(t, 2) // the second is under way, holding the place

	retried := time.Now()
	b.Call(t, http.MethodPost, "/v1/deliveries/"+first[0]+"/retry", nil, http.StatusAccepted)
	d := b.WaitDelivery(t, first[0], "postponed")
	next, err := time.Parse(time.RFC3339Nano, d["next_attempt_at"].(string))
	require.NoError(t, err)
	require.True(t, next.After(retried), "due after the retry, not at %s", next)
	require.EqualValues(t, 1, d["attempt_count"], "waiting uses up no attempt")

	d = b.WaitDelivery(t, first[0], "succeeded")
	require.EqualValues(t, 2, d["attempt_count"])
	require.Len(t, rc.Requests(), 3)
}

func TestRetentionRemovesOldDeliveriesAndEvents(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	rc := apptest.NewReceiver(t, nil)
	b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	_, ids := b.Event(t, map[string]any{"id": "old", "type": "email.opened"})
	b.WaitDelivery(t, ids[0], "succeeded")

	// Now is kept by the service that cleans: one whose clock is a day
	// ahead sees the delivery as older than a retention of 12 h.
	opts := b.Opts
	opts.Retention = 12 * time.Hour
	opts.Now = func() time.Time { return time.Now().Add(24 * time.Hour) }
	later, err := hooks.New(opts)
	require.NoError(t, err)
	// Cleaning with the usual clock removes nothing.
	nd, ne, err := b.Hooks.Clean(context.Background())
	require.NoError(t, err)
	require.Zero(t, nd+ne)
	nd, ne, err = later.Clean(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 1, nd)
	require.EqualValues(t, 1, ne)
	resp, _ := b.Do(t, http.MethodGet, "/v1/deliveries/"+ids[0], b.Secret, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	var attempts int
	require.NoError(t, b.DB.QueryRowContext(context.Background(), `SELECT count(*) FROM attempts WHERE delivery_id = $1`, ids[0]).Scan(&attempts))
	require.Zero(t, attempts, "the delivery's attempts went with it")
	resp, _ = b.Do(t, http.MethodGet, "/v1/events/old", b.Secret, nil)
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
