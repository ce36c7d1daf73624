package access_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/access"
)

// "Rotate and expire later": both secrets work for the overlap, the token
// shows the rotation, and when the overlap ends the previous secret stops.
func TestRotateLaterKeepsBothSecretsForTheOverlap(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	old := b.create(t, "svc", access.ScopeHooksRead)

	b.clock.Advance(time.Minute)
	rotated := b.rotate(t, old.ID, false)
	require.NotEqual(t, old.Secret, rotated.Secret)
	require.True(t, access.WellFormed(rotated.Secret))
	require.NotEqual(t, old.Hint, rotated.Hint)
	require.NotNil(t, rotated.Rotation)
	require.Equal(t, old.Hint, rotated.Rotation.PreviousHint)
	sameTime(t, b.now().Add(access.DefaultRotationOverlap), rotated.Rotation.ExpiresAt, "the default overlap")
	sameTime(t, b.now(), rotated.UpdatedAt, "a rotation is an update")
	require.Equal(t, old.Scopes, rotated.Scopes, "a rotation changes only the secret")

	for _, s := range []string{old.Secret, rotated.Secret} {
		id, ok := b.works(t, s)
		require.True(t, ok, "both secrets work during the overlap")
		require.Equal(t, old.ID, id)
	}

	// Just before the end, both still work; at the end, only the new one.
	b.clock.Advance(access.DefaultRotationOverlap - time.Microsecond)
	b.requireWorks(t, old.Secret, true)
	b.clock.Advance(time.Microsecond)
	b.requireWorks(t, old.Secret, false, "the previous secret works until ExpiresAt, not at it")
	b.requireWorks(t, rotated.Secret, true)
	got, err := b.store.Get(t.Context(), old.ID)
	require.NoError(t, err)
	require.Nil(t, got.Rotation, "an overlap that ended is no rotation in progress")

	// Nothing left to cancel or expire, and a new rotation may begin.
	_, err = b.store.CancelRotation(t.Context(), old.ID)
	require.ErrorIs(t, err, access.ErrNoRotation)
	_, err = b.store.ExpireRotation(t.Context(), old.ID)
	require.ErrorIs(t, err, access.ErrNoRotation)
	again := b.rotate(t, old.ID, false)
	b.requireWorks(t, rotated.Secret, true, "the secret of the last rotation is now the previous one")
	b.requireWorks(t, again.Secret, true)
}

func TestTheOverlapIsTheStoresOwn(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour)
	old := b.create(t, "svc", access.ScopeHooksRead)
	rotated := b.rotate(t, old.ID, false)
	sameTime(t, b.now().Add(time.Hour), rotated.Rotation.ExpiresAt, "the store's overlap")
	b.clock.Advance(time.Hour)
	b.requireWorks(t, old.Secret, false)
}

// One rotation at a time: a second "expire later" must wait until the
// first is cancelled or expired, so no secret is ever silently dropped.
func TestASecondRotateLaterIsRefusedDuringTheOverlap(t *testing.T) {
	t.Parallel()
	b, old, rotated := setupRotation(t)

	_, err := b.store.Rotate(t.Context(), old.ID, false)
	require.ErrorIs(t, err, access.ErrRotationInProgress)
	for _, s := range []string{old.Secret, rotated.Secret} {
		b.requireWorks(t, s, true, "the refused rotation changed nothing")
	}
	got, err := b.store.Get(t.Context(), old.ID)
	require.NoError(t, err)
	require.Equal(t, rotated.Hint, got.Hint)
	require.Equal(t, old.Hint, got.Rotation.PreviousHint)
}

// Cancelling goes back: the new secret stops and the previous one is the
// token's secret again, with no end.
func TestCancelRotationKeepsThePreviousSecret(t *testing.T) {
	t.Parallel()
	b, old, rotated := setupRotation(t)

	b.clock.Advance(time.Hour)
	got := endRotation(t, b.store.CancelRotation, old.ID)
	require.Equal(t, old.Hint, got.Hint)
	sameTime(t, b.now(), got.UpdatedAt, "cancelling is an update")
	b.requireWorks(t, rotated.Secret, false, "the new secret stops")
	b.requireWorks(t, old.Secret, true)

	b.clock.Advance(access.DefaultRotationOverlap)
	b.requireWorks(t, old.Secret, true, "the previous secret is primary again: the overlap's end no longer applies")

	requireNothingToEnd(t, b.store.CancelRotation, old.ID)
}

// Expiring goes forward: the previous secret stops at once.
func TestExpireRotationStopsThePreviousSecretAtOnce(t *testing.T) {
	t.Parallel()
	b, old, rotated := setupRotation(t)

	got := endRotation(t, b.store.ExpireRotation, old.ID)
	require.Equal(t, rotated.Hint, got.Hint)
	b.requireWorks(t, old.Secret, false)
	b.requireWorks(t, rotated.Secret, true)

	requireNothingToEnd(t, b.store.ExpireRotation, old.ID)
}

// "Rotate and expire now" is for a leaked secret: whatever worked before
// stops at once, the previous secret of an overlap in progress included.
func TestRotateNowStopsEveryEarlierSecret(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	first := b.create(t, "svc", access.ScopeHooksRead)

	second := b.rotate(t, first.ID, true)
	require.Nil(t, second.Rotation, "no overlap")
	b.requireWorks(t, first.Secret, false)

	third := b.rotate(t, first.ID, false)
	fourth, err := b.store.Rotate(t.Context(), first.ID, true)
	require.NoError(t, err, "expire now is allowed during an overlap")
	require.Nil(t, fourth.Rotation)
	for _, s := range []string{first.Secret, second.Secret, third.Secret} {
		b.requireWorks(t, s, false)
	}
	id, ok := b.works(t, fourth.Secret)
	require.True(t, ok)
	require.Equal(t, first.ID, id)

	_, err = b.store.Rotate(t.Context(), "tok_nope", true)
	require.ErrorIs(t, err, access.ErrNotFound)
	_, err = b.store.Rotate(t.Context(), "tok_nope", false)
	require.ErrorIs(t, err, access.ErrNotFound)
}

// Two people pressing "rotate and expire later" at once: one rotation
// happens, the other is refused, and the secret the winner was shown works.
func TestConcurrentRotationsLeaveOneNewSecret(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	old := b.create(t, "svc", access.ScopeHooksRead)

	const n = 4
	var (
		wg      sync.WaitGroup
		secrets [n]string
		errs    [n]error
	)
	for i := range n {
		wg.Go(func() {
			var is access.Issued
			is, errs[i] = b.store.Rotate(t.Context(), old.ID, false)
			secrets[i] = is.Secret
		})
	}
	wg.Wait()
	var won []string
	for i, err := range errs {
		if err == nil {
			won = append(won, secrets[i])
			continue
		}
		require.ErrorIs(t, err, access.ErrRotationInProgress)
	}
	require.Len(t, won, 1, "exactly one rotation happens")
	for _, s := range []string{old.Secret, won[0]} {
		b.requireWorks(t, s, true)
	}
}

// rotate rotates the token's secret, failing the test if it cannot.
func (b *testBundle) rotate(t *testing.T, id string, expireNow bool) access.Issued {
	t.Helper()
	rotated, err := b.store.Rotate(t.Context(), id, expireNow)
	require.NoError(t, err)
	return rotated
}

// requireNothingToEnd requires end (the store's CancelRotation or
// ExpireRotation) to find no rotation of id in progress, and no token
// tok_nope at all.
func requireNothingToEnd(t *testing.T, end func(context.Context, string) (access.Token, error), id string) {
	t.Helper()
	_, err := end(t.Context(), id)
	require.ErrorIs(t, err, access.ErrNoRotation)
	_, err = end(t.Context(), "tok_nope")
	require.ErrorIs(t, err, access.ErrNotFound)
}

// setupRotation is setup with the default overlap and a token whose secret
// was rotated to expire later: the token as created, and as rotated.
func setupRotation(t *testing.T) (_ *testBundle, old, rotated access.Issued) {
	t.Helper()
	b := setup(t, 0)
	old = b.create(t, "svc", access.ScopeHooksRead)
	return b, old, b.rotate(t, old.ID, false)
}

// endRotation ends the rotation of id with end (the store's CancelRotation
// or ExpireRotation), requiring the token it returns to show none.
func endRotation(t *testing.T, end func(context.Context, string) (access.Token, error), id string) access.Token {
	t.Helper()
	got, err := end(t.Context(), id)
	require.NoError(t, err)
	require.Nil(t, got.Rotation)
	return got
}
