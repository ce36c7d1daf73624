package hooks_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/apptest"
)

// TestPausedConnectionPostponesDeliveries: a delivery through a paused
// connection is not sent and uses no attempt, says why it waits, and goes
// out when the connection is resumed through the API, without waiting
// for the next recheck (an hour here).
func TestPausedConnectionPostponesDeliveries(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, func(o *hooks.Options) { o.ReauthRecheck = time.Hour })
	rc := apptest.NewReceiver(t, nil)
	conn, err := b.Conns.Create(context.Background(), connections.Input{Name: new("CRM"), AuthType: new("bearer"), BaseURL: new(rc.URL), Token: new("t")})
	require.NoError(t, err)
	b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{"name": "crm", "event_types": []string{"email.opened"}, "connection_id": conn.ID, "url": "/x"}, http.StatusCreated)

	admin := b.Token(t, access.ScopeConnectionsWrite)
	resp, c := b.Do(t, http.MethodPost, "/v1/connections/"+conn.ID+"/pause", admin, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", c)
	require.Equal(t, true, c["paused"])
	require.NotEmpty(t, c["paused_at"])
	_, ids := b.Event(t, map[string]any{"type": "email.opened"})
	d := b.WaitDelivery(t, ids[0], "postponed")
	require.EqualValues(t, 0, d["attempt_count"], "waiting for a paused connection uses no attempt")
	require.Equal(t, "waiting: connection "+conn.ID+" is paused", d["last_error"])
	require.Empty(t, rc.Requests(), "nothing goes through a paused connection")

	resp, c = b.Do(t, http.MethodPost, "/v1/connections/"+conn.ID+"/resume", admin, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", c)
	require.Equal(t, false, c["paused"])
	d = b.WaitDelivery(t, ids[0], "succeeded")
	require.EqualValues(t, 1, d["attempt_count"])
	require.Len(t, rc.Requests(), 1)
}
