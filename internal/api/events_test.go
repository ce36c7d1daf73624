package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/apptest"
)

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
