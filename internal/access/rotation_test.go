package access_test

import (
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
	rotated, err := b.store.Rotate(t.Context(), old.ID, false)
	require.NoError(t, err)
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
	again, err := b.store.Rotate(t.Context(), old.ID, false)
	require.NoError(t, err)
	b.requireWorks(t, rotated.Secret, true, "the secret of the last rotation is now the previous one")
	b.requireWorks(t, again.Secret, true)
}

func TestTheOverlapIsTheStoresOwn(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour)
	old := b.create(t, "svc", access.ScopeHooksRead)
	rotated, err := b.store.Rotate(t.Context(), old.ID, false)
	require.NoError(t, err)
	sameTime(t, b.now().Add(time.Hour), rotated.Rotation.ExpiresAt, "the store's overlap")
	b.clock.Advance(time.Hour)
	b.requireWorks(t, old.Secret, false)
}

// One rotation at a time: a second "expire later" must wait until the
// first is cancelled or expired, so no secret is ever silently dropped.
func TestASecondRotateLaterIsRefusedDuringTheOverlap(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	old := b.create(t, "svc", access.ScopeHooksRead)
	rotated, err := b.store.Rotate(t.Context(), old.ID, false)
	require.NoError(t, err)

	_, err = b.store.Rotate(t.Context(), old.ID, false)
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
	b := setup(t, 0)
	old := b.create(t, "svc", access.ScopeHooksRead)
	rotated, err := b.store.Rotate(t.Context(), old.ID, false)
	require.NoError(t, err)

	b.clock.Advance(time.Hour)
	got, err := b.store.CancelRotation(t.Context(), old.ID)
	require.NoError(t, err)
	require.Nil(t, got.Rotation)
	require.Equal(t, old.Hint, got.Hint)
	sameTime(t, b.now(), got.UpdatedAt, "cancelling is an update")
	b.requireWorks(t, rotated.Secret, false, "the new secret stops")
	b.requireWorks(t, old.Secret, true)

	b.clock.Advance(access.DefaultRotationOverlap)
	b.requireWorks(t, old.Secret, true, "the previous secret is primary again: the overlap's end no longer applies")

	_, err = b.store.CancelRotation(t.Context(), old.ID)
	require.ErrorIs(t, err, access.ErrNoRotation)
	_, err = b.store.CancelRotation(t.Context(), "tok_nope")
	require.ErrorIs(t, err, access.ErrNotFound)
}

// Expiring goes forward: the previous secret stops at once.
func TestExpireRotationStopsThePreviousSecretAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	old := b.create(t, "svc", access.ScopeHooksRead)
	rotated, err := b.store.Rotate(t.Context(), old.ID, false)
	require.NoError(t, err)

	got, err := b.store.ExpireRotation(t.Context(), old.ID)
	require.NoError(t, err)
	require.Nil(t, got.Rotation)
	require.Equal(t, rotated.Hint, got.Hint)
	b.requireWorks(t, old.Secret, false)
	b.requireWorks(t, rotated.Secret, true)

	_, err = b.store.ExpireRotation(t.Context(), old.ID)
	require.ErrorIs(t, err, access.ErrNoRotation)
	_, err = b.store.ExpireRotation(t.Context(), "tok_nope")
	require.ErrorIs(t, err, access.ErrNotFound)
}

// "Rotate and expire now" is for a leaked secret: whatever worked before
// stops at once, the previous secret of an overlap in progress included.
func TestRotateNowStopsEveryEarlierSecret(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	first := b.create(t, "svc", access.ScopeHooksRead)

	second, err := b.store.Rotate(t.Context(), first.ID, true)
	require.NoError(t, err)
	require.Nil(t, second.Rotation, "no overlap")
	b.requireWorks(t, first.Secret, false)

	third, err := b.store.Rotate(t.Context(), first.ID, false)
	require.NoError(t, err)
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
