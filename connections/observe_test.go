package connections_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
)

// TestRefreshResultsAreObserved: each refresh that reaches the token
// endpoint is told once, by result, for the metrics.
func TestRefreshResultsAreObserved(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var results []string
	b := setup(t, func(o *connections.Options) {
		o.ObserveRefresh = func(result string) {
			mu.Lock()
			defer mu.Unlock()
			results = append(results, result)
		}
	})
	observed := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), results...)
	}
	p, v := b.connectedRotating(t)
	require.Empty(t, observed(), "the authorization-code exchange is no refresh")

	b.expireInDB(t, v.ID)
	resp, err := b.get(t, v.ID, "/me")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, []string{"ok"}, observed())

	p.RevokeAll()
	b.expireInDB(t, v.ID)
	_, err = b.get(t, v.ID, "/me")
	require.ErrorIs(t, err, connections.ErrNeedsReauth)
	require.Equal(t, []string{"ok", "invalid_grant"}, observed())

	// Waiting for a person sends nothing, so nothing is told.
	_, err = b.get(t, v.ID, "/me")
	require.ErrorIs(t, err, connections.ErrNeedsReauth)
	require.Equal(t, []string{"ok", "invalid_grant"}, observed())
}
