package connections_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
)

// TestRefreshWithUnknownOutcomeIsNotSentAgain: the provider processes a
// refresh (and retires the refresh token) but its answer never arrives in
// time. Sending the same refresh token again would be a reuse, and a
// rotating provider revokes the whole grant for it; so Liaison sends it
// once, keeps the connection connected and says what happened.
func TestRefreshWithUnknownOutcomeIsNotSentAgain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, v := b.connectedRotating(t)
	svc := b.withTokenTimeout(t, 500*time.Millisecond, 3)

	p.SlowToken(3 * time.Second)
	p.ExpireAll()
	b.expireInDB(t, v.ID)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "/me", nil)
	require.NoError(t, err)
	_, err = svc.Do(t.Context(), v.ID, req)
	require.ErrorIs(t, err, connections.ErrTokenEndpoint)
	require.NotErrorIs(t, err, connections.ErrNeedsReauth)
	require.Equal(t, 1, p.TokenRequestsByGrant("refresh_token"), "a refresh whose answer was lost is not sent again")
	require.False(t, p.GrantRevoked(), "no refresh token was used twice")

	got, err := b.svc.Get(t.Context(), v.ID)
	require.NoError(t, err)
	require.Equal(t, connections.StatusConnected, got.Status)
	require.Contains(t, got.LastError, "token endpoint")
	require.Empty(t, b.events(t, connections.EventNeedsReauth))
}

// withTokenTimeout is another service on the bundle's database and Redis
// (another process, as far as refreshes go) whose token requests time out
// after d and are retried up to retries times. The bundle's own service
// keeps the default, so that connecting does not race a short timeout.
func (b *testBundle) withTokenTimeout(t *testing.T, d time.Duration, retries int) *connections.Service {
	t.Helper()
	opts := b.opts
	opts.TokenTimeout, opts.TokenRetries = d, retries
	svc, err := connections.New(opts)
	require.NoError(t, err)
	t.Cleanup(svc.Close)
	return svc
}

// TestWaitersDoNotResendARefreshWithUnknownOutcome: a second process that
// waited for the refresh lock while the first one's refresh got no answer
// must not send the same refresh token once the lock is free.
func TestWaitersDoNotResendARefreshWithUnknownOutcome(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, v := b.connectedRotating(t)
	one := b.withTokenTimeout(t, 300*time.Millisecond, 2)
	other := b.withTokenTimeout(t, 300*time.Millisecond, 2) // another process on the same database and Redis

	p.SlowToken(2 * time.Second)
	p.ExpireAll()
	b.expireInDB(t, v.ID)
	send := func(svc *connections.Service) error {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "/me", nil)
		if err != nil {
			return err
		}
		resp, err := svc.Do(context.Background(), v.ID, req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	first := make(chan error, 1)
	go func() { first <- send(one) }()
	require.Eventually(t, func() bool { return p.TokenRequestsByGrant("refresh_token") == 1 }, 5*time.Second, time.Millisecond)

	// The first process now holds the lock and waits for the provider.
	require.ErrorIs(t, send(other), connections.ErrTokenEndpoint)
	require.ErrorIs(t, <-first, connections.ErrTokenEndpoint)
	require.Equal(t, 1, p.TokenRequestsByGrant("refresh_token"), "exactly one refresh reached the provider")
	require.False(t, p.GrantRevoked())
}
