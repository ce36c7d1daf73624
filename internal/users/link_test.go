package users_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/users"
)

func TestSetupLinkCreatesTheFirstAdminOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.setupLink(t)
	l, err := b.svc.Link(t.Context(), token)
	require.NoError(t, err)
	require.Equal(t, users.PurposeSetup, l.Purpose)
	require.Equal(t, b.clock.Now().UTC().Truncate(time.Microsecond).Add(users.DefaultSetupLinkLifetime), l.ExpiresAt)

	_, err = b.svc.Redeem(t.Context(), token, users.Input{Email: "ada", Password: "short"})
	require.Equal(t, []string{"email", "password"}, fields(t, err))
	u, err := b.svc.Redeem(t.Context(), token, users.Input{Email: "Ada@Example.com", Password: password, Role: users.RoleMember})
	require.NoError(t, err, "a field error left the link unused")
	require.Equal(t, users.RoleAdmin, u.Role, "the first user is an admin whatever was asked")
	require.True(t, u.ManagesIntegrations)
	require.Equal(t, "ada@example.com", u.Email)
	require.Nil(t, u.LastSignInAt)
	ss, err := b.svc.StartSession(t.Context(), u.ID)
	require.NoError(t, err)
	require.True(t, b.works(t, ss.Cookie))
	u, err = b.svc.Get(t.Context(), u.ID)
	require.NoError(t, err)
	require.Equal(t, ss.CreatedAt, *u.LastSignInAt, "a session after a link is a sign-in too")

	_, err = b.svc.Redeem(t.Context(), token, users.Input{Email: "eve@example.com", Password: password})
	require.ErrorIs(t, err, users.ErrLinkInvalid, "one use")
	_, ok, err := b.svc.SetupLink(t.Context())
	require.NoError(t, err)
	require.False(t, ok, "no setup link once a user exists")
}

func TestSetupLinkIsRefusedOnceAUserExists(t *testing.T) {
	t.Parallel()
	b := setup(t)
	token := b.setupLink(t)
	b.create(t, "ada@example.com", users.RoleAdmin) // say from the command line
	_, err := b.svc.Link(t.Context(), token)
	require.ErrorIs(t, err, users.ErrLinkInvalid)
	_, err = b.svc.Redeem(t.Context(), token, users.Input{Email: "eve@example.com", Password: password})
	require.ErrorIs(t, err, users.ErrLinkInvalid)
	n, err := b.svc.Count(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestTwoSetupLinksMakeOneAdmin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	wins := redeemAtOnce(t, b, []string{b.setupLink(t), b.setupLink(t)})
	require.Equal(t, 1, wins)
	n, err := b.svc.Count(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

// redeemAtOnce redeems each token from its own goroutine at once, each as
// another email, and counts the redemptions that won.
func redeemAtOnce(t *testing.T, b *testBundle, tokens []string) int {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		wins  int
		start = make(chan struct{})
	)
	for i, tok := range tokens {
		wg.Go(func() {
			<-start
			_, err := b.svc.Redeem(t.Context(), tok, users.Input{Email: string(rune('a'+i)) + "@example.com", Password: password})
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
				return
			}
			require.ErrorIs(t, err, users.ErrLinkInvalid)
		})
	}
	close(start)
	wg.Wait()
	return wins
}

func TestInviteLinkIsUsedOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.create(t, "ada@example.com", users.RoleAdmin)
	_, _, err := b.svc.Invite(t.Context(), users.Input{Email: "bob", Password: "chosen by the admin"})
	require.Equal(t, []string{"email", "password"}, fields(t, err))
	bob, token := b.invite(t, "bob@example.com")
	require.False(t, bob.HasPassword)
	l, err := b.svc.Link(t.Context(), token)
	require.NoError(t, err)
	require.Equal(t, users.Link{Purpose: users.PurposeInvite, UserID: bob.ID, Email: "bob@example.com",
		ExpiresAt: b.clock.Now().UTC().Truncate(time.Microsecond).Add(users.DefaultLinkLifetime)}, l)

	_, err = b.svc.Redeem(t.Context(), token, users.Input{Password: "short"})
	require.Equal(t, []string{"password"}, fields(t, err))
	u, err := b.svc.Redeem(t.Context(), token, users.Input{Password: password})
	require.NoError(t, err)
	require.Equal(t, bob.ID, u.ID)
	require.True(t, u.HasPassword)
	b.signIn(t, "bob@example.com")
	_, err = b.svc.Redeem(t.Context(), token, users.Input{Password: "an attacker's choice"})
	require.ErrorIs(t, err, users.ErrLinkInvalid, "one use")
	_, err = b.svc.Link(t.Context(), token)
	require.ErrorIs(t, err, users.ErrLinkInvalid)
}

func TestConcurrentRedeemsOfOneLinkOnlyOneWins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.create(t, "ada@example.com", users.RoleAdmin)
	_, token := b.invite(t, "bob@example.com")
	tokens := make([]string, 8)
	for i := range tokens {
		tokens[i] = token
	}
	require.Equal(t, 1, redeemAtOnce(t, b, tokens))
}

func TestExpiredLinkIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ada := b.create(t, "ada@example.com", users.RoleAdmin)
	token, err := b.svc.ResetLink(t.Context(), ada.ID)
	require.NoError(t, err)
	b.clock.Advance(users.DefaultLinkLifetime - time.Second)
	l, err := b.svc.Link(t.Context(), token)
	require.NoError(t, err)
	require.Equal(t, users.PurposeReset, l.Purpose)
	b.clock.Advance(time.Second)
	_, err = b.svc.Link(t.Context(), token)
	require.ErrorIs(t, err, users.ErrLinkInvalid)
	_, err = b.svc.Redeem(t.Context(), token, users.Input{Password: "another long password"})
	require.ErrorIs(t, err, users.ErrLinkInvalid)
	b.signIn(t, "ada@example.com") // the password is unchanged

	setupB := setup(t, func(o *users.Options) { o.SetupLinkLifetime = time.Hour })
	st := setupB.setupLink(t)
	setupB.clock.Advance(time.Hour)
	_, err = setupB.svc.Redeem(t.Context(), st, users.Input{Email: "ada@example.com", Password: password})
	require.ErrorIs(t, err, users.ErrLinkInvalid, "the lifetime comes from the options")
	_, err = b.svc.ResetLink(t.Context(), "usr_nope")
	require.ErrorIs(t, err, users.ErrNotFound)
}

func TestNoSecretIsStoredInPlainText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	setupToken := b.setupLink(t)
	ada, err := b.svc.Redeem(t.Context(), setupToken, users.Input{Email: "ada@example.com", Password: password})
	require.NoError(t, err)
	ss := b.signIn(t, "ada@example.com")
	_, secret, _ := strings.Cut(ss.Cookie, ".")
	_, invite := b.invite(t, "bob@example.com")
	reset, err := b.svc.ResetLink(t.Context(), ada.ID)
	require.NoError(t, err)
	_, _, _ = b.svc.SignIn(t.Context(), "ada@example.com", "a wrong password guess", "192.0.2.1")

	dump := b.db.Dump(t, "users", "user_sessions", "user_links", "sign_in_failures")
	require.Contains(t, dump, "ada@example.com", "the dump reads the rows")
	for name, s := range map[string]string{
		"password": password, "wrong password": "a wrong password guess", "cookie secret": secret, "csrf token": ss.CSRF,
		"setup token": setupToken, "invite token": invite, "reset token": reset,
	} {
		require.NotContains(t, dump, s, name)
	}
}
