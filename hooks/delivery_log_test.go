package hooks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/invalid"
)

// The delivery log filters by kind of target, target, event type and a
// time range, counts what matches up to a bound, and retries every failed
// delivery of a filter, and only those.
func TestTheDeliveryLogFiltersCountsAndRetriesTheFailed(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	ctx := context.Background()
	// The first two requests fail for good (400), every later one works.
	rc := apptest.NewReceiver(t, apptest.AnswerStatuses(http.StatusBadRequest, http.StatusBadRequest))
	other := apptest.NewReceiver(t, nil)
	h := b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "crm", "event_types": []string{"form.submitted"}, "url": rc.URL,
		"body": json.RawMessage(`{"f":"{{data.form}}"}`)}, http.StatusCreated)
	hookID := h["id"].(string)
	wh := b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": other.URL, "event_types": []string{"email.opened"}}, http.StatusCreated)
	start := time.Now().Add(-time.Second)
	var hookDeliveries []string
	for _, form := range []string{"a", "b", "c"} {
		_, ids := b.Event(t, map[string]any{"type": "form.submitted", "data": map[string]any{"form": form}})
		hookDeliveries = append(hookDeliveries, ids...)
	}
	_, opened := b.Event(t, map[string]any{"type": "email.opened"})
	for _, id := range hookDeliveries {
		require.Eventually(t, func() bool {
			d, err := b.Hooks.Delivery(ctx, id)
			return err == nil && (d.Status == "failed" || d.Status == "succeeded")
		}, 10*time.Second, 10*time.Millisecond)
	}
	b.WaitDelivery(t, opened[0], "succeeded")

	list := func(f hooks.DeliveryFilter) []string {
		t.Helper()
		ds, _, err := b.Hooks.Deliveries(ctx, f)
		require.NoError(t, err)
		var ids []string
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		return ids
	}
	count := func(f hooks.DeliveryFilter, most int) (int, bool) {
		t.Helper()
		n, more, err := b.Hooks.CountDeliveries(ctx, f, most)
		require.NoError(t, err)
		return n, more
	}
	require.ElementsMatch(t, hookDeliveries, list(hooks.DeliveryFilter{TargetKind: "hook"}))
	require.ElementsMatch(t, hookDeliveries, list(hooks.DeliveryFilter{TargetKind: "hook", TargetID: hookID}))
	require.Equal(t, opened, list(hooks.DeliveryFilter{TargetKind: "webhook", TargetID: wh["id"].(string)}))
	require.Equal(t, opened, list(hooks.DeliveryFilter{EventType: "email.opened"}))
	require.Empty(t, list(hooks.DeliveryFilter{TargetKind: "call"}))
	require.ElementsMatch(t, append(hookDeliveries, opened...), list(hooks.DeliveryFilter{Since: start, Until: time.Now().Add(time.Minute)}))
	require.Empty(t, list(hooks.DeliveryFilter{Until: start}), "until excludes what came after")

	n, more := count(hooks.DeliveryFilter{}, 10)
	require.Equal(t, 4, n)
	require.False(t, more)
	n, more = count(hooks.DeliveryFilter{}, 3)
	require.Equal(t, 3, n, "counting stops at the bound")
	require.True(t, more)
	n, _ = count(hooks.DeliveryFilter{TargetKind: "hook", Status: "failed", Cursor: "ignored"}, 10)
	require.Equal(t, 2, n)
	n, _ = count(hooks.DeliveryFilter{EventType: "email.opened", Status: "failed"}, 10)
	require.Zero(t, n)

	// Retrying the failed of a filter sends those two again, not the rest.
	retried, err := b.Hooks.RetryFailed(ctx, hooks.DeliveryFilter{TargetKind: "hook", TargetID: hookID, Status: "succeeded"})
	require.NoError(t, err)
	require.Equal(t, 2, retried)
	for _, id := range hookDeliveries {
		b.WaitDelivery(t, id, "succeeded")
	}
	require.Len(t, rc.WaitFor(t, 5), 5, "three first attempts and two retries")
	retried, err = b.Hooks.RetryFailed(ctx, hooks.DeliveryFilter{})
	require.NoError(t, err)
	require.Zero(t, retried, "nothing failed is left")

	for _, f := range []hooks.DeliveryFilter{{TargetKind: "bus"}, {EventType: "no spaces allowed"}, {Status: "lost"}} {
		_, _, err := b.Hooks.CountDeliveries(ctx, f, 10)
		_, bad := invalid.As(err)
		require.True(t, bad, "%+v: %v", f, err)
	}
}
