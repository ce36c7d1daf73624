package connections_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/oauthfake"
)

// Every refresh that goes to the token endpoint is kept with its outcome
// and, when the provider refused, its words; the view says when the token
// was refreshed and when the sweep will refresh it next.
func TestRefreshHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, v := b.connectedRotating(t)
	none, err := b.svc.Refreshes(t.Context(), v.ID, 0)
	require.NoError(t, err)
	require.Empty(t, none, "the authorization is no refresh")

	fresh, err := b.svc.Refresh(t.Context(), v.ID)
	require.NoError(t, err)
	require.NotNil(t, fresh.LastRefreshedAt)
	require.NotNil(t, fresh.TokenExpiresAt)
	require.NotNil(t, fresh.NextRefreshAt)
	require.Equal(t, fresh.TokenExpiresAt.Add(-connections.DefaultSweepWindow), *fresh.NextRefreshAt)

	p.FailNextToken(1, 400, `{"error":"invalid_grant","error_description":"the user revoked the app"}`)
	_, err = b.svc.Refresh(t.Context(), v.ID)
	require.ErrorIs(t, err, connections.ErrNeedsReauth)

	got, err := b.svc.Refreshes(t.Context(), v.ID, 0)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, connections.RefreshFailed, got[0].Outcome, "newest first")
	require.Equal(t, "invalid_grant: the user revoked the app", got[0].Error)
	require.Equal(t, connections.RefreshOK, got[1].Outcome)
	require.Empty(t, got[1].Error)
	require.False(t, got[0].At.Before(got[1].At))

	after, err := b.svc.Get(t.Context(), v.ID)
	require.NoError(t, err)
	require.Nil(t, after.NextRefreshAt, "a connection that needs reconnecting is not refreshed")
	require.Nil(t, after.LastRefreshedAt, "its tokens were dropped")

	_, err = b.svc.Refreshes(t.Context(), "conn_missing", 0)
	require.ErrorIs(t, err, connections.ErrNotFound)
}

// A token that lives shorter than the sweep window is due at the next
// sweep, never at a time already past (a 2-minute token seemed due 8
// minutes before it was issued).
func TestShortTokenIsDueNow(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	b := setup(t, func(o *connections.Options) { o.Now = func() time.Time { return now } })
	p := provider(t, oauthfake.Options{Scopes: []string{"api"}, AccessTTL: 2 * time.Minute})
	v, err := b.svc.Create(t.Context(), clientCredentialsInput(p, connections.ClientSecretBasic))
	require.NoError(t, err)
	v, err = b.svc.Refresh(t.Context(), v.ID)
	require.NoError(t, err)
	require.NotNil(t, v.NextRefreshAt)
	require.Equal(t, now, v.NextRefreshAt.UTC())
}

// Only the latest 20 refreshes of a connection are kept.
func TestRefreshHistoryKeepsTheLatest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := provider(t, oauthfake.Options{Scopes: []string{"api"}})
	v, err := b.svc.Create(t.Context(), clientCredentialsInput(p, connections.ClientSecretBasic))
	require.NoError(t, err)
	for range 23 {
		_, err := b.svc.Refresh(t.Context(), v.ID)
		require.NoError(t, err)
	}
	var n int
	require.NoError(t, b.db.QueryRowContext(context.Background(), `SELECT count(*) FROM connection_refreshes WHERE connection_id = $1`, v.ID).Scan(&n))
	require.Equal(t, 20, n)
	got, err := b.svc.Refreshes(t.Context(), v.ID, 5)
	require.NoError(t, err)
	require.Len(t, got, 5)
}

// last_used_at moves when a request goes through, at most once a minute.
func TestLastUsedOncePerMinute(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		now = time.Now().UTC().Truncate(time.Second)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	b := setup(t, func(o *connections.Options) { o.Now = clock })
	_, v := b.connectedRotating(t)
	require.Nil(t, v.LastUsedAt, "not used yet")

	lastUsed := func() *time.Time {
		got, err := b.svc.Get(t.Context(), v.ID)
		require.NoError(t, err)
		return got.LastUsedAt
	}
	first := clock()
	b.requireOK(t, v.ID, "/me")
	require.Equal(t, first, *lastUsed())

	advance(40 * time.Second)
	b.requireOK(t, v.ID, "/me")
	require.Equal(t, first, *lastUsed(), "not written again within the minute")

	advance(30 * time.Second)
	b.requireOK(t, v.ID, "/me")
	require.Equal(t, clock(), *lastUsed(), "written again after a minute")

	_, err := b.svc.Pause(t.Context(), v.ID)
	require.NoError(t, err)
	advance(2 * time.Minute)
	_, err = b.get(t, v.ID, "/me")
	require.ErrorIs(t, err, connections.ErrPaused)
	require.Equal(t, first.Add(70*time.Second), *lastUsed(), "a paused connection is not used")
}
