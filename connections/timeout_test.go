package connections_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
)

// A caller's deadline governs the whole request, longer or shorter than
// RequestTimeout: a hook's or a call's timeout_ms may be up to 120 s and
// an import's time_limit an hour, past the 30 s default, which applies
// only to a request whose context has no deadline.
func TestTheCallersDeadlineReplacesTheRequestTimeout(t *testing.T) {
	t.Parallel()
	const requestTimeout = 300 * time.Millisecond
	b := setup(t, func(o *connections.Options) { o.RequestTimeout = requestTimeout })
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * requestTimeout):
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	send := func(ctx context.Context) (*http.Response, error) {
		req, err := http.NewRequest(http.MethodGet, slow.URL+"/feed", nil)
		require.NoError(t, err)
		return b.svc.Do(ctx, "", req)
	}

	// No deadline: RequestTimeout ends it.
	start := time.Now()
	_, err := send(context.Background())
	require.Error(t, err, "the answer comes after RequestTimeout")
	require.Less(t, time.Since(start), 3*requestTimeout)

	// A longer deadline: the request waits for the answer.
	ctx, cancel := context.WithTimeout(context.Background(), 20*requestTimeout)
	defer cancel()
	resp, err := send(ctx)
	require.NoError(t, err, "a deadline past RequestTimeout is the caller's to set")
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	// A shorter deadline still ends it first.
	short, cancelShort := context.WithTimeout(context.Background(), requestTimeout/3)
	defer cancelShort()
	start = time.Now()
	_, err = send(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), requestTimeout)
}
