package connections_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/oauthfake"
)

// connectedIDs lists the connection_id of every connection.connected event.
func (b *testBundle) connectedIDs(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, raw := range b.events(t, connections.EventConnected) {
		var data struct {
			ConnectionID string `json:"connection_id"`
			AuthType     string `json:"auth_type"`
		}
		require.NoError(t, json.Unmarshal([]byte(raw), &data))
		require.NotEmpty(t, data.AuthType)
		ids = append(ids, data.ConnectionID)
	}
	return ids
}

// TestConnectedIsRecordedOnEveryWayBack: connection.connected, which wakes
// the work waiting for a connection, is recorded each time a connection
// becomes connected from pending or needs_reauth, and only then.
func TestConnectedIsRecordedOnEveryWayBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := provider(t, oauthfake.Options{RequirePKCE: true, RotateRefreshTokens: true, Scopes: []string{"contacts.read", "offline_access", "api"}})

	// Authorization code: connected at the callback, again after a reconnection.
	code := b.createConnected(t, p, codeInput(p))
	require.Equal(t, []string{code.ID}, b.connectedIDs(t), "pending → connected")
	require.True(t, b.connect(t, p, code.ID).OK)
	require.Len(t, b.connectedIDs(t), 1, "connected → connected is no change")
	p.RevokeAll()
	_, err := b.svc.Refresh(t.Context(), code.ID)
	require.ErrorIs(t, err, connections.ErrNeedsReauth)
	require.True(t, b.connect(t, p, code.ID).OK)
	require.Equal(t, []string{code.ID, code.ID}, b.connectedIDs(t), "needs_reauth → connected")

	// A static token refused, then replaced.
	s, _ := target(t, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer good-token" })
	bearer, err := b.svc.Create(t.Context(), connections.Input{
		Name: new("HighLevel"), AuthType: new(connections.AuthBearer), BaseURL: new(s.URL), Token: new("bad-token"),
	})
	require.NoError(t, err)
	_, err = b.get(t, bearer.ID, "/x")
	require.ErrorIs(t, err, connections.ErrNeedsReauth)
	_, err = b.svc.Update(t.Context(), bearer.ID, connections.Input{Description: new("edited")})
	require.NoError(t, err)
	require.Len(t, b.connectedIDs(t), 2, "an edit that keeps the refused token changes nothing")
	_, err = b.svc.Update(t.Context(), bearer.ID, connections.Input{Token: new("good-token")})
	require.NoError(t, err)
	require.Equal(t, bearer.ID, b.connectedIDs(t)[2])

	// Client credentials: the first token, fetched on a forced refresh.
	cc, err := b.svc.Create(t.Context(), clientCredentialsInput(p, connections.ClientSecretBasic))
	require.NoError(t, err)
	require.Equal(t, connections.StatusPending, cc.Status)
	_, err = b.svc.Refresh(t.Context(), cc.ID)
	require.NoError(t, err)
	require.Equal(t, cc.ID, b.connectedIDs(t)[3])
	_, err = b.svc.Refresh(t.Context(), cc.ID)
	require.NoError(t, err)
	require.Len(t, b.connectedIDs(t), 4, "a refresh of a connected connection is no change")
}
