package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/apptest"
)

// A hook's credential headers are secrets like any other: sealed at rest,
// masked in answers, kept when an edit sends the masked value back, and
// sent as they are.
func TestHookCredentialHeadersAreSealedAndMasked(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	rc := apptest.NewReceiver(t, nil)
	const apiKey = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"

	h := b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{
		"name": "crm", "event_types": []string{"form.sent"}, "url": rc.URL + "/contacts",
		"headers": map[string]string{"X-Api-Key": apiKey, "Version": "2021-07-28"},
		"body":    map[string]any{"email": "{{profile.email}}"},
	}, http.StatusCreated)
	id := h["id"].(string)
	shown := h["headers"].(map[string]any)
	require.Equal(t, "s******c", shown["X-Api-Key"], "the answer shows the key masked")
	require.Equal(t, "2021-07-28", shown["Version"], "other headers show as they are")

	var stored string
	require.NoError(t, b.DB.DB.QueryRowContext(context.Background(), `SELECT headers FROM hooks WHERE id = $1`, id).Scan(&stored))
	require.NotContains(t, stored, apiKey, "the key is not stored in plaintext")
	require.NotContains(t, stored, "2021-07-28", "the whole header set is sealed with it")

	listed := b.Call(t, http.MethodGet, "/v1/hooks", nil, http.StatusOK)
	require.NotContains(t, jsonString(t, listed), apiKey)

	// Editing with what GET showed keeps the key; a new value replaces it.
	got := b.Call(t, http.MethodGet, "/v1/hooks/"+id, nil, http.StatusOK)
	edited := b.Call(t, http.MethodPatch, "/v1/hooks/"+id, map[string]any{"name": "crm 2", "headers": got["headers"]}, http.StatusOK)
	require.Equal(t, "s******c", edited["headers"].(map[string]any)["X-Api-Key"])

	b.Call(t, http.MethodPost, "/v1/events", map[string]any{
		"id": "evt_hdr_1", "type": "form.sent", "occurred_at": time.Now().UTC().Format(time.RFC3339),
		"profile": map[string]any{"email": "a@example.com"},
	}, http.StatusAccepted)
	require.Eventually(t, func() bool { return len(rc.Requests()) == 1 }, 10*time.Second, 10*time.Millisecond)
	sent := rc.Requests()[0]
	require.Equal(t, apiKey, sent.Header.Get("X-Api-Key"), "the receiver gets the real key")
	require.Equal(t, "2021-07-28", sent.Header.Get("Version"))

	d := b.Call(t, http.MethodGet, "/v1/deliveries?hook="+id, nil, http.StatusOK)
	require.NotContains(t, jsonString(t, d), apiKey, "attempts record the header removed")
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
