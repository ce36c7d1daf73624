package connections_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
)

// TestStale401DoesNotUndoANewToken: a request sent with the old static token
// is answered 401 after the person has already put in a new token. That 401
// is about the old token: the connection stays connected and the request
// goes again with the new token.
func TestStale401DoesNotUndoANewToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	release := make(chan struct{})
	var refused atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer new-token" {
			w.WriteHeader(http.StatusOK)
			return
		}
		if refused.Add(1) == 1 {
			<-release // a slow answer: the token is replaced meanwhile
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	v, err := b.svc.Create(t.Context(), connections.Input{
		Name: new("HighLevel"), AuthType: new(connections.AuthBearer), BaseURL: new(s.URL), Token: new("old-token"),
	})
	require.NoError(t, err)

	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "/contacts", nil)
		resp, err := b.svc.Do(context.Background(), v.ID, req)
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	require.Eventually(t, func() bool { return refused.Load() == 1 }, 5*time.Second, time.Millisecond)
	_, err = b.svc.Update(t.Context(), v.ID, connections.Input{Token: new("new-token")})
	require.NoError(t, err)
	close(release)

	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, http.StatusOK, r.status, "sent again with the new token")
	got, err := b.svc.Get(t.Context(), v.ID)
	require.NoError(t, err)
	require.Equal(t, connections.StatusConnected, got.Status, "the 401 to the old token does not undo the new one")
	require.Empty(t, got.LastError)
	require.Empty(t, b.events(t, connections.EventNeedsReauth))

	// A 401 to the token that is stored still asks for reconnection.
	_, err = b.svc.Update(t.Context(), v.ID, connections.Input{Token: new("wrong-token")})
	require.NoError(t, err)
	_, err = b.get(t, v.ID, "/contacts")
	require.ErrorIs(t, err, connections.ErrNeedsReauth)
	require.Len(t, b.events(t, connections.EventNeedsReauth), 1)
}
