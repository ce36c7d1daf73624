// Bad input is refused by name: a field, an event's index in its batch, the
// place of a flaw in JSON text (a lone surrogate, a NUL, a duplicate key), and
// nothing of it is sent or stored.

package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/apptest"
)

// firstError is the field and message of a problem's first error.
func firstError(t *testing.T, problem map[string]any) (field, message string) {
	t.Helper()
	errs, _ := problem["errors"].([]any)
	require.NotEmpty(t, errs, "the problem names no field: %v", problem)
	e := errs[0].(map[string]any)
	return e["field"].(string), e["message"].(string)
}

// requireRefused posts body to path and requires a 422 naming field, its
// message holding want.
func requireRefused(t *testing.T, b *apptest.DeliveryBundle, secret, path, body, field, want string) {
	t.Helper()
	resp, out := b.Do(t, http.MethodPost, path, secret, body)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%s %s: %v", path, body, out)
	f, msg := firstError(t, out)
	require.Equal(t, field, f, "%s %s: %v", path, body, out)
	require.Contains(t, msg, want, "%s %s", path, body)
}

func TestLoneSurrogateIsRefusedByPlace(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	rc := apptest.NewReceiver(t, nil)
	b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL, "event_types": []string{"email.*"}}, http.StatusCreated)
	// PostgreSQL's jsonb refuses "\ud800" (half of a UTF-16 pair, no
	// character): such an event got a 500, which a producer retries
	// forever. It is refused with a 422 that names the place.
	const lone = "lone UTF-16 surrogate"
	requireRefused(t, b, b.Secret, "/v1/events", `{"id":"s1","type":"x","profile":{"s":"\ud800"},"data":{}}`, "profile.s", lone)
	requireRefused(t, b, b.Secret, "/v1/events", `{"type":"x","data":{"tags":["ok","\udc00x"]}}`, "data.tags[1]", `"\udc00"`)
	requireRefused(t, b, b.Secret, "/v1/events", `{"type":"x","data":{"n":{"\ud800":1}}}`, "data.n.\uFFFD", "is a key that holds a "+lone)
	requireRefused(t, b, b.Secret, "/v1/events", `{"type":"x","profile":{"s":"\uD83D\uDE00\uD83D"}}`, "profile.s", lone)
	resp, _ := b.Do(t, http.MethodGet, "/v1/events/s1", b.Secret, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	// A whole pair is a character, and an escaped backslash no escape.
	b.Call(t, http.MethodPost, "/v1/events", `{"id":"s2","type":"email.ok","profile":{"s":"\ud83d\ude00 \\ud800"}}`, http.StatusAccepted)
	got := b.Call(t, http.MethodGet, "/v1/events/s2", nil, http.StatusOK)
	require.Equal(t, "\U0001F600 \\ud800", got["profile"].(map[string]any)["s"])

	// In a batch, the event is refused by its index; the others are stored.
	out := b.Call(t, http.MethodPost, "/v1/events/batch", `{"events":[
		{"id":"g1","type":"email.sent"},
		{"id":"s3","type":"email.sent","profile":{"s":"\ud800"}},
		{"id":"s5","type":"email.sent","data":{"a":[{"b":"\udc00x"}]}},
		{"id":"s4","type":"email.sent","data":{"\ud800":1}},
		{"id":"g3","type":"email.sent","data":{"e":"\u00e9\ud83d\ude00"}}]}`, http.StatusAccepted)
	require.EqualValues(t, 2, out["accepted"], "%v", out)
	require.EqualValues(t, 3, out["rejected"])
	res := out["results"].([]any)
	errsOf := func(i int) string { return fmt.Sprint(res[i].(map[string]any)["errors"]) }
	require.Contains(t, errsOf(1), "events[1].profile")
	require.Contains(t, errsOf(1), "at s holds a "+lone)
	require.Contains(t, errsOf(2), "events[2].data")
	require.Contains(t, errsOf(2), "at a[0].b holds a "+lone)
	require.Contains(t, errsOf(3), "events[3].data")
	for _, id := range []string{"g1", "g3"} {
		b.Call(t, http.MethodGet, "/v1/events/"+id, nil, http.StatusOK)
	}
	require.Contains(t, errsOf(3), "at \uFFFD is a key that holds a "+lone)
	rc.WaitFor(t, 3) // s2, g1 and g3

	// Every other body too, free-form JSON included: a hook's body
	// template and filter, a webhook's fields, a call's body, an import.
	all := b.Token(t, access.ScopeHooksWrite, access.ScopeCallsWrite, access.ScopeImportsWrite, access.ScopeTokensManage, access.ScopeConnectionsWrite)
	requireRefused(t, b, all, "/v1/hooks", `{"name":"h","event_types":["x"],"url":"`+rc.URL+`","body":{"a":{"b":"{{profile.email}}\ud800"}}}`, "body.a.b", lone)
	requireRefused(t, b, all, "/v1/hooks", `{"name":"h","event_types":["x"],"url":"`+rc.URL+`","filter":{"all":[{"field":"profile.s","op":"equals","value":"\ud800"}]}}`, "filter.all[0].value", lone)
	requireRefused(t, b, all, "/v1/hooks", `{"name":"h\ud800","event_types":["x"],"url":"`+rc.URL+`"}`, "name", lone)
	requireRefused(t, b, all, "/v1/webhooks", `{"url":"`+rc.URL+`","description":"\udfff","event_types":["x"]}`, "description", lone)
	requireRefused(t, b, all, "/v1/calls", `{"connection_id":"conn_x","method":"POST","path":"/x","body":{"x":["\ud800"]}}`, "body.x[0]", lone)
	requireRefused(t, b, all, "/v1/imports", `{"name":"i","url":"https://feeds.example.com/f.json","format":"json","mapping":{"external_id":"id","fields":{"\ud800":"t"}}}`, "mapping.fields.\uFFFD", lone)
	requireRefused(t, b, all, "/v1/tokens", `{"name":"t","scopes":["hooks.read"],"description":"\ud800"}`, "description", lone)
	requireRefused(t, b, all, "/v1/connections", `{"name":"c","auth_type":"bearer","base_url":"https://crm.example.com","token":"t","headers":{"X-A":"\ud800"}}`, "headers.X-A", lone)
	// Bytes that are not UTF-8 would fail PostgreSQL's text the same way.
	requireRefused(t, b, all, "/v1/hooks", "{\"name\":\"h\",\"event_types\":[\"x\"],\"url\":\""+rc.URL+"\",\"body\":{\"a\":\"\xff\"}}", "body.a", "not UTF-8")
	requireRefused(t, b, b.Secret, "/v1/events", "{\"type\":\"x\",\"profile\":{\"s\":\"\xc3\"}}", "profile.s", "not UTF-8")
}

func TestCallAnswerThatJSONBCannotStoreStillEnds(t *testing.T) {
	t.Parallel()
	b := apptest.SetupCalls(t, nil)
	// The remote answer, as JSON, goes into the call.completed event of
	// the callback (jsonb): an answer holding a lone surrogate or a
	// number jsonb refuses kept the call from being recorded on
	// PostgreSQL, attempt after attempt. It ends, with the body as text.
	answer := `{"name":"\ud800","n":0e-20000}`
	crm := apptest.NewReceiver(t, apptest.AnswerWith(http.StatusOK, http.Header{"Content-Type": {"application/json"}}, answer))
	scenario := apptest.NewReceiver(t, nil)
	conn := b.BearerConnection(t, crm.URL, nil)
	whsec, err := hooks.NewSecret()
	require.NoError(t, err)
	c := b.Req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "GET", "path": "/contacts",
		"callback_url": scenario.URL + "/result", "callback_secret": whsec}, http.StatusAccepted)
	done := b.WaitCall(t, c["id"].(string), "succeeded")
	r := done["response"].(map[string]any)
	require.Equal(t, answer, r["body"])
	require.NotContains(t, r, "json", "not JSON that can be stored as it is")
	got := scenario.WaitFor(t, 1)
	var sent struct {
		Data struct {
			State    string `json:"state"`
			Response struct {
				Body string `json:"body"`
			} `json:"response"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(got[0].Body, &sent), "the callback is JSON: %s", got[0].Body)
	require.Equal(t, "succeeded", sent.Data.State)
	require.Equal(t, answer, sent.Data.Response.Body)
	require.Len(t, crm.Requests(), 1, "recorded the first time")
}

func TestDuplicateKeysAreRefusedByName(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	rc := apptest.NewReceiver(t, nil)
	// encoding/json keeps the last of two equal keys, other readers the
	// first: what Liaison checks might not be what another part uses.
	const twice = "given twice"
	requireRefused(t, b, b.Secret, "/v1/events", `{"type":"email.opened","type":"email.clicked"}`, "type", twice)
	requireRefused(t, b, b.Secret, "/v1/events", `{"type":"x","profile":{"email":"a@example.com","email":"b@example.com"}}`, "profile.email", twice)
	requireRefused(t, b, b.Secret, "/v1/events", `{"type":"x","data":{"items":[{"sku":1},{"sku":1,"qty":2,"sku":3}]}}`, "data.items[1].sku", twice)
	requireRefused(t, b, b.Secret, "/v1/events", `{"type":"x","data":{"a":1,"\u0061":2}}`, "data.a", twice)
	requireRefused(t, b, b.Secret, "/v1/hooks", `{"name":"h","event_types":["x"],"url":"`+rc.URL+`","body":{"to":{"email":"{{profile.email}}","email":"x"}}}`, "body.to.email", twice)
	requireRefused(t, b, b.Secret, "/v1/hooks", `{"name":"a","name":"b","event_types":["x"],"url":"`+rc.URL+`"}`, "name", twice)
	requireRefused(t, b, b.Secret, "/v1/webhooks", `{"url":"`+rc.URL+`","event_types":["x"],"enabled":true,"enabled":false}`, "enabled", twice)
	// The same key in two objects is no duplicate.
	b.Call(t, http.MethodPost, "/v1/events", `{"id":"d1","type":"email.x","profile":{"a":{"id":1},"b":{"id":1}},"data":{"id":2}}`, http.StatusAccepted)

	// In a batch, a duplicate inside an event's profile or data is that
	// event's; one in the request's own fields is the request's.
	out := b.Call(t, http.MethodPost, "/v1/events/batch", `{"events":[
		{"id":"d2","type":"email.x"},
		{"id":"d3","type":"email.x","profile":{"email":"a","email":"b"}}]}`, http.StatusAccepted)
	require.EqualValues(t, 1, out["accepted"], "%v", out)
	errs := fmt.Sprint(out["results"].([]any)[1].(map[string]any)["errors"])
	require.Contains(t, errs, "events[1].profile")
	require.Contains(t, errs, "at email is a key "+twice)
	b.Call(t, http.MethodGet, "/v1/events/d2", nil, http.StatusOK)
	requireRefused(t, b, b.Secret, "/v1/events/batch", `{"events":[{"id":"d4","type":"x"}],"events":[]}`, "events", twice)
	requireRefused(t, b, b.Secret, "/v1/events/batch", `{"events":[{"id":"d5","type":"x"},{"id":"d6","id":"d7","type":"x"}]}`, "events[1].id", twice)
	resp, _ := b.Do(t, http.MethodGet, "/v1/events/d5", b.Secret, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestActionRoutesRefuseAMalformedBody(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	every := b.Token(t, access.ScopeTokensManage, access.ScopeConnectionsRead, access.ScopeConnectionsWrite,
		access.ScopeHooksWrite, access.ScopeImportsWrite, access.ScopeCallsWrite)
	var actions []string
	for _, rt := range b.API.Routes() {
		if strings.HasPrefix(rt.Pattern, "POST ") && !rt.TakesFields && !rt.Public {
			actions = append(actions, strings.TrimPrefix(rt.Pattern, "POST "))
		}
	}
	require.Subset(t, actions, []string{"/v1/connections/{id}/test", "/v1/webhooks/{id}/secret/rotate", "/v1/imports/{id}/run", "/v1/deliveries/{id}/retry"})
	for _, pattern := range actions {
		path := strings.ReplaceAll(pattern, "{id}", "nope_1")
		for _, c := range []struct{ body, field, want string }{
			{`{"since":`, "body", "malformed JSON"},
			{`not json`, "body", "malformed JSON"},
			{`[1]`, "body", "must be an object"},
			{`{"expire":"now"}`, "expire", "is not a known field"},
			{`{} {}`, "body", "more than one JSON value"},
		} {
			resp, out := b.Do(t, http.MethodPost, path, every, c.body)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s %s: %v", path, c.body, out)
			f, msg := firstError(t, out)
			require.Equal(t, c.field, f, "%s %s", path, c.body)
			require.Contains(t, msg, c.want, "%s %s", path, c.body)
		}
		// No body, or an empty object, still reaches the route (which
		// finds nothing of that id).
		for _, body := range []any{nil, "{}", " \n"} {
			resp, out := b.Do(t, http.MethodPost, path, every, body)
			require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s %q: %v", path, body, out)
		}
	}
	// A hook's test takes fields, or none.
	rc := apptest.NewReceiver(t, nil)
	h := b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "h", "event_types": []string{"email.opened"}, "url": rc.URL}, http.StatusCreated)
	resp, out := b.Do(t, http.MethodPost, "/v1/hooks/"+h["id"].(string)+"/test", b.Secret, `{"send":tru}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%v", out)
	chunked, err := http.NewRequest(http.MethodPost, b.Server.URL+"/v1/hooks/"+h["id"].(string)+"/test", io.MultiReader(strings.NewReader("")))
	require.NoError(t, err)
	chunked.Header.Set("Authorization", "Bearer "+b.Secret)
	chunked.ContentLength = -1 // sent chunked: an empty body of unknown length
	answer, err := http.DefaultClient.Do(chunked)
	require.NoError(t, err)
	answer.Body.Close()
	require.Equal(t, http.StatusOK, answer.StatusCode)
}

func TestTrickledBodyIsRecordedAsCutOff(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, func(o *hooks.Options) { o.RequestTimeout = 1200 * time.Millisecond })
	// The receiver answers 200 at once, then sends its body a byte at a
	// time, slower than the timeout allows. The attempt was recorded with
	// "no answer within …": it shows the 200, the body as far as it came,
	// and says that it was cut off.
	rc := apptest.NewReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) {
		w.WriteHeader(http.StatusOK)
		for range 40 {
			_, _ = w.Write([]byte("x"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	_, ids := b.Event(t, map[string]any{"type": "email.opened"})
	d := b.WaitDelivery(t, ids[0], "succeeded")
	a := d["attempts"].([]any)[0].(map[string]any)
	require.EqualValues(t, http.StatusOK, a["status"])
	kept := a["response_body"].(string)
	require.NotEmpty(t, kept)
	require.Less(t, len(kept), 40, "cut before the end")
	require.Equal(t, strings.Repeat("x", len(kept)), kept)
	require.Equal(t, true, a["truncated"])
	require.Equal(t, fmt.Sprintf("the answer's body was cut off after 1.2s (timeout); %d bytes kept", len(kept)), a["error"])
}

var _ = api.RouteInfo{}

func TestNULInAFieldIsRefusedByName(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	rc := apptest.NewReceiver(t, nil)
	// PostgreSQL's text cannot hold U+0000: such a field failed the request
	// with a 500. Every request body is checked, naming the field.
	manager := b.Token(t, access.ScopeTokensManage)
	for _, c := range []struct {
		path, secret string
		body         any
		field        string
	}{
		{"/v1/hooks", b.Secret, map[string]any{"name": "a\x00b", "event_types": []string{"email.opened"}, "url": rc.URL}, "name"},
		{"/v1/hooks", b.Secret, map[string]any{"name": "h", "event_types": []string{"email.opened"}, "url": rc.URL, "headers": map[string]string{"X-A\x00": "v"}}, "headers.X-A\x00"},
		{"/v1/webhooks", b.Secret, map[string]any{"url": rc.URL, "description": "a\x00", "event_types": []string{"email.opened"}}, "description"},
		{"/v1/webhooks", b.Secret, map[string]any{"url": rc.URL, "event_types": []string{"email.opened", "email.\x00"}}, "event_types[1]"},
		{"/v1/events", b.Secret, map[string]any{"id": "e\x00", "type": "email.opened"}, "id"},
		{"/v1/tokens", manager, map[string]any{"name": "t\x00", "scopes": []string{access.ScopeHooksRead}}, "name"},
	} {
		resp, body := b.Do(t, http.MethodPost, c.path, c.secret, c.body)
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%s %v", c.path, body)
		errs := body["errors"].([]any)
		require.Equal(t, c.field, errs[0].(map[string]any)["field"], c.path)
		require.Contains(t, errs[0].(map[string]any)["message"], "U+0000")
	}
	// Free-form JSON is sent as JSON text: an escaped U+0000 in a hook's
	// body template is kept and sent as written.
	b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "raw", "event_types": []string{"email.opened"}, "url": rc.URL,
		"body": json.RawMessage(`{"a":"x\u0000y"}`)}, http.StatusCreated)
	b.Event(t, map[string]any{"type": "email.opened"})
	got := rc.WaitFor(t, 1)
	require.JSONEq(t, `{"a":"x\u0000y"}`, string(got[0].Body))
}

func TestBatchReportsBadEventsByIndex(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	rc := apptest.NewReceiver(t, nil)
	b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL, "event_types": []string{"email.*"}}, http.StatusCreated)
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	out := b.Call(t, http.MethodPost, "/v1/events/batch", map[string]any{"events": []any{
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
	rc.WaitFor(t, 3)

	resp, body := b.Do(t, http.MethodPost, "/v1/events", b.Secret, map[string]any{"type": "nope"})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, fmt.Sprint(body["errors"]), "type")
	many := make([]map[string]any, hooks.MaxBatch+1)
	for i := range many {
		many[i] = map[string]any{"type": "email.sent"}
	}
	resp, _ = b.Do(t, http.MethodPost, "/v1/events/batch", b.Secret, map[string]any{"events": many})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)

	// Scopes: intake needs events.write, hooks need hooks.* .
	onlyEvents := b.Token(t, access.ScopeEventsWrite)
	resp, _ = b.Do(t, http.MethodGet, "/v1/hooks", onlyEvents, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	readOnly := b.Token(t, access.ScopeHooksRead)
	resp, _ = b.Do(t, http.MethodPost, "/v1/events", readOnly, map[string]any{"type": "email.sent"})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestCallBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	b := apptest.SetupCalls(t, nil)
	rc := apptest.NewReceiver(t, nil)
	conn := b.BearerConnection(t, rc.URL, nil)
	base := func() map[string]any {
		return map[string]any{"connection_id": conn, "method": "POST", "path": "/x"}
	}
	tests := []struct {
		name   string
		edit   func(map[string]any)
		status int
		field  string
	}{
		{"unknown connection", func(m map[string]any) { m["connection_id"] = "conn_nope" }, 422, "connection_id"},
		{"no connection", func(m map[string]any) { delete(m, "connection_id") }, 422, "connection_id"},
		{"not an HTTP method", func(m map[string]any) { m["method"] = "FETCH" }, 422, "method"},
		{"no method", func(m map[string]any) { delete(m, "method") }, 422, "method"},
		{"no path", func(m map[string]any) { delete(m, "path") }, 422, "path"},
		{"not http", func(m map[string]any) { m["path"] = "ftp://files.example.com/x" }, 422, "path"},
		{"wait too long", func(m map[string]any) { m["wait"] = 31 }, 422, "wait"},
		{"wait negative", func(m map[string]any) { m["wait"] = -1 }, 422, "wait"},
		{"wait not a number", func(m map[string]any) { m["wait"] = "10s" }, 400, "wait"},
		{"body over the limit", func(m map[string]any) { m["body"] = strings.Repeat("x", calls.MaxCallBody) }, 422, "body"},
		{"raw body not a string", func(m map[string]any) {
			m["headers"] = map[string]string{"Content-Type": "text/plain"}
			m["body"] = map[string]any{"a": 1}
		}, 422, "body"},
		{"credential header", func(m map[string]any) { m["headers"] = map[string]string{"Authorization": "Bearer x"} }, 422, "headers.Authorization"},
		{"callback without secret", func(m map[string]any) { m["callback_url"] = rc.URL }, 422, "callback_secret"},
		{"callback secret malformed", func(m map[string]any) {
			m["callback_url"] = rc.URL
			m["callback_secret"] = "hunter2"
		}, 422, "callback_secret"},
		{"callback not a URL", func(m map[string]any) {
			m["callback_url"] = "/relative"
			m["callback_secret"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		}, 422, "callback_url"},
		{"schedule step", func(m map[string]any) { m["retry"] = map[string]any{"schedule": []string{"0s", "soon"}} }, 422, "retry.schedule[1]"},
		{"schedule a day long", func(m map[string]any) { m["retry"] = map[string]any{"schedule": []string{"0s", "24h"}} }, 422, "retry"},
		{"unknown field", func(m map[string]any) { m["priority"] = "high" }, 400, "priority"},
		{"timeout", func(m map[string]any) { m["timeout_ms"] = 600_000 }, 422, "timeout_ms"},
		{"key too long", func(m map[string]any) { m["idempotency_key"] = strings.Repeat("k", 300) }, 422, "idempotency_key"},
	}
	for _, tc := range tests {
		body := base()
		tc.edit(body)
		resp, prob := b.Do(t, http.MethodPost, "/v1/calls", b.Secret, body)
		require.Equal(t, tc.status, resp.StatusCode, "%s: %v", tc.name, prob)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), tc.name)
		require.Contains(t, apptest.FieldsOf(prob), tc.field, "%s: %v", tc.name, prob)
	}
	// A request larger than the API takes is refused before it is read.
	resp, prob := b.Do(t, http.MethodPost, "/v1/calls", b.Secret, map[string]any{"connection_id": conn, "method": "POST", "path": "/x", "body": strings.Repeat("x", 5<<20)})
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.Equal(t, []string{"body"}, apptest.FieldsOf(prob))

	require.Empty(t, rc.Requests(), "nothing bad was sent")
	resp, _ = b.Do(t, http.MethodGet, "/v1/calls/call_nope", b.Secret, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}
