package calls_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/internal/apptest"
)

// TestPausedConnectionPostponesACall: a call through a paused connection
// waits, sends nothing, uses no attempt and says why; resuming the
// connection runs it at once, not at the next recheck (an hour here).
func TestPausedConnectionPostponesACall(t *testing.T) {
	t.Parallel()
	b := apptest.SetupCalls(t, func(o *hooks.Options) { o.ReauthRecheck = time.Hour })
	crm := apptest.NewReceiver(t, nil)
	conn := b.BearerConnection(t, crm.URL, nil)
	b.Req(t, http.MethodPost, "/v1/connections/"+conn+"/pause", nil, http.StatusOK)

	c := b.Req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "GET", "path": "/me"}, http.StatusAccepted)
	id := c["id"].(string)
	c = b.WaitCall(t, id, "postponed")
	require.EqualValues(t, 0, c["attempt_count"], "waiting for a paused connection uses no attempt")
	require.Equal(t, "waiting: connection "+conn+" is paused", c["last_error"])
	require.Empty(t, crm.Requests())

	b.Req(t, http.MethodPost, "/v1/connections/"+conn+"/resume", nil, http.StatusOK)
	c = b.WaitCall(t, id, "succeeded")
	require.EqualValues(t, 1, c["attempt_count"])
	require.Len(t, crm.Requests(), 1)
}
