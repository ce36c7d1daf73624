package access_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/access"
)

// During a rotation each secret's last use is kept apart: LastUsedAt is
// the new (primary) secret's, Rotation.PreviousLastUsedAt the old one's,
// each written at most once a minute; cancelling makes the old secret's
// the token's again, expiring drops it.
func TestRotationShowsEachSecretsLastUse(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	old := b.create(t, "svc", access.ScopeHooksRead)
	b.requireWorks(t, old.Secret, true)
	usedOld := b.now()

	b.clock.Advance(10 * time.Second)
	rotated := b.rotate(t, old.ID, false)
	require.Nil(t, rotated.LastUsedAt, "the new secret has not been used")
	require.NotNil(t, rotated.Rotation.PreviousLastUsedAt)
	sameTime(t, usedOld, *rotated.Rotation.PreviousLastUsedAt, "the old secret's use goes with it")

	b.clock.Advance(10 * time.Second)
	b.requireWorks(t, rotated.Secret, true)
	usedNew := b.now()
	got := b.get(t, old.ID)
	require.NotNil(t, got.LastUsedAt, "the new secret's use is written at once, though the old one was used within the minute")
	sameTime(t, usedNew, *got.LastUsedAt, "the primary's last use")
	sameTime(t, usedOld, *got.Rotation.PreviousLastUsedAt, "the old secret not used since")

	b.clock.Advance(30 * time.Second)
	b.requireWorks(t, old.Secret, true)
	got = b.get(t, old.ID)
	sameTime(t, usedOld, *got.Rotation.PreviousLastUsedAt, "not written again within its minute")
	b.clock.Advance(61 * time.Second)
	b.requireWorks(t, old.Secret, true)
	usedOldAgain := b.now()
	got = b.get(t, old.ID)
	sameTime(t, usedOldAgain, *got.Rotation.PreviousLastUsedAt, "a caller still on the old secret shows")
	sameTime(t, usedNew, *got.LastUsedAt, "the primary's is its own")

	cancelled := endRotation(t, b.store.CancelRotation, old.ID)
	require.NotNil(t, cancelled.LastUsedAt)
	sameTime(t, usedOldAgain, *cancelled.LastUsedAt, "the old secret is primary again, with its last use")

	again := b.rotate(t, old.ID, false)
	b.requireWorks(t, again.Secret, true)
	expired := endRotation(t, b.store.ExpireRotation, old.ID)
	sameTime(t, b.now(), *expired.LastUsedAt, "expiring keeps the new secret's")
	b.requireWorks(t, old.Secret, false)
}

// Creator says who made a token in words a page can show.
func TestCreatorInWords(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	ctx := t.Context()
	in := func(name string) access.Input {
		return access.Input{Name: new(name), Scopes: new([]string{access.ScopeHooksRead})}
	}
	admin, err := b.store.Create(ctx, in("admin"), access.ByCommandLine("ops"))
	require.NoError(t, err)
	require.Equal(t, "command line", admin.Creator)
	require.Equal(t, "cli:ops", admin.CreatedBy)
	dev, err := b.store.Create(ctx, in("dev"), "liaison dev")
	require.NoError(t, err)
	require.Equal(t, "command line", dev.Creator)

	made, err := b.store.Create(ctx, in("made"), access.ByToken(admin.ID))
	require.NoError(t, err)
	require.Equal(t, "API token admin", made.Creator)
	byUser, err := b.store.Create(ctx, in("ui"), access.ByUser("ada@example.com"))
	require.NoError(t, err)
	require.Equal(t, "ada@example.com", byUser.Creator)

	_, err = b.store.Update(ctx, admin.ID, access.Input{Name: new("root")})
	require.NoError(t, err)
	require.Equal(t, "API token root", b.get(t, made.ID).Creator, "the maker's name as it is now")
	list, _, err := b.store.List(ctx, "", 10)
	require.NoError(t, err)
	creators := map[string]string{}
	for _, tok := range list {
		creators[tok.Name] = tok.Creator
	}
	require.Equal(t, map[string]string{"root": "command line", "dev": "command line", "made": "API token root", "ui": "ada@example.com"}, creators)

	require.NoError(t, b.store.Delete(ctx, admin.ID))
	require.Equal(t, "an API token since deleted", b.get(t, made.ID).Creator)
}

// get reads a token as it stands now.
func (b *testBundle) get(t *testing.T, id string) access.Token {
	t.Helper()
	tok, err := b.store.Get(t.Context(), id)
	require.NoError(t, err)
	return tok
}
