package users_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/liaison/liaison/internal/users"
)

func TestSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	compared := users.CountComparisons(b.svc)
	ada := b.create(t, "ada@example.com", users.RoleAdmin)

	u, ss, err := b.svc.SignIn(t.Context(), " ADA@example.com", password, "192.0.2.1")
	require.NoError(t, err)
	require.Equal(t, ada.ID, u.ID)
	require.NotNil(t, u.LastSignInAt)
	require.Equal(t, ada.ID, ss.UserID)
	require.True(t, b.works(t, ss.Cookie))
	require.EqualValues(t, 1, compared.Load())

	_, _, err = b.svc.SignIn(t.Context(), "ada@example.com", "wrong password!", "192.0.2.1")
	require.ErrorIs(t, err, users.ErrBadCredentials)
	require.EqualValues(t, 2, compared.Load())

	// An unknown email and an invited user without a password are
	// compared all the same: the work does not tell who exists.
	_, _, err = b.svc.SignIn(t.Context(), "nobody@example.com", password, "192.0.2.1")
	require.ErrorIs(t, err, users.ErrBadCredentials)
	require.EqualValues(t, 3, compared.Load(), "an unknown email costs a comparison")
	b.invite(t, "bob@example.com")
	_, _, err = b.svc.SignIn(t.Context(), "bob@example.com", "", "192.0.2.1")
	require.ErrorIs(t, err, users.ErrBadCredentials)
	require.EqualValues(t, 4, compared.Load(), "a user without a password costs a comparison")
}

func TestSignInThrottlesPerAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	compared := users.CountComparisons(b.svc)
	b.create(t, "ada@example.com", users.RoleAdmin)
	// Five failures, each from another address: the account's count.
	// A minute apart: they are within the window all the same.
	for i := range users.DefaultThrottleFailures {
		if i > 0 {
			b.clock.Advance(time.Minute)
		}
		_, _, err := b.svc.SignIn(t.Context(), "ada@example.com", "wrong password!", "192.0.2."+string(rune('1'+i)))
		require.ErrorIs(t, err, users.ErrBadCredentials, "failure %d", i+1)
	}
	before := compared.Load()
	_, _, err := b.svc.SignIn(t.Context(), "ada@example.com", password, "198.51.100.1")
	var te *users.ThrottledError
	require.ErrorAs(t, err, &te, "even the right password waits")
	require.Equal(t, before, compared.Load(), "a throttled sign-in checks no password")
	require.Equal(t, users.DefaultThrottleWait, te.RetryAfter)
	b.clock.Advance(te.RetryAfter / 2)
	_, _, err = b.svc.SignIn(t.Context(), "ada@example.com", password, "198.51.100.1")
	require.ErrorAs(t, err, &te)
	require.Equal(t, users.DefaultThrottleWait/2, te.RetryAfter, "the wait counts down")
	require.Contains(t, te.Error(), "try again in")

	// Each further failure doubles the wait.
	b.clock.Advance(te.RetryAfter)
	_, _, err = b.svc.SignIn(t.Context(), "ada@example.com", "wrong password!", "198.51.100.1")
	require.ErrorIs(t, err, users.ErrBadCredentials)
	_, _, err = b.svc.SignIn(t.Context(), "ada@example.com", password, "198.51.100.1")
	require.ErrorAs(t, err, &te)
	require.Equal(t, 2*users.DefaultThrottleWait, te.RetryAfter)

	// After the wait, the right password works and clears the count.
	b.clock.Advance(te.RetryAfter)
	b.signIn(t, "ada@example.com")
	_, _, err = b.svc.SignIn(t.Context(), "ada@example.com", "wrong password!", "198.51.100.2")
	require.ErrorIs(t, err, users.ErrBadCredentials, "one failure after a success is not throttled")
	b.signIn(t, "ada@example.com")
}

func TestSignInThrottlesPerAddress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.create(t, "ada@example.com", users.RoleAdmin)
	// Five unknown emails from one address.
	b.failAsStrangers(t, users.DefaultThrottleFailures, "203.0.113.9")
	_, _, err := b.svc.SignIn(t.Context(), "ada@example.com", password, "203.0.113.9")
	var te *users.ThrottledError
	require.ErrorAs(t, err, &te, "the address waits, whatever account it tries")
	require.Equal(t, users.DefaultThrottleWait, te.RetryAfter)
	_, _, err = b.svc.SignIn(t.Context(), "ada@example.com", password, "203.0.113.10")
	require.NoError(t, err, "another address is not slowed")
	// A success does not clear the address: the one good account must not
	// clear the way for guessing at others.
	b.clock.Advance(te.RetryAfter)
	_, _, err = b.svc.SignIn(t.Context(), "ada@example.com", password, "203.0.113.9")
	require.NoError(t, err)
	_, _, err = b.svc.SignIn(t.Context(), "stranger@example.com", password, "203.0.113.9")
	require.ErrorIs(t, err, users.ErrBadCredentials)
	_, _, err = b.svc.SignIn(t.Context(), "ada@example.com", password, "203.0.113.9")
	require.ErrorAs(t, err, &te)
	require.Equal(t, 2*users.DefaultThrottleWait, te.RetryAfter)

	// Attempts without an address are not one address that anyone could
	// fill: they count for their accounts alone.
	b.failAsStrangers(t, users.DefaultThrottleFailures, "")
	_, _, err = b.svc.SignIn(t.Context(), "ada@example.com", password, "")
	require.NoError(t, err, "attempts without an address do not share one count")
}

func TestSignInFailuresOutsideTheWindowAreForgotten(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.create(t, "ada@example.com", users.RoleAdmin)
	for range users.DefaultThrottleFailures - 1 {
		_, _, err := b.svc.SignIn(t.Context(), "ada@example.com", "wrong password!", "192.0.2.1")
		require.ErrorIs(t, err, users.ErrBadCredentials)
	}
	b.clock.Advance(users.DefaultThrottleWindow)
	_, _, err := b.svc.SignIn(t.Context(), "ada@example.com", "wrong password!", "192.0.2.1")
	require.ErrorIs(t, err, users.ErrBadCredentials)
	_, _, err = b.svc.SignIn(t.Context(), "ada@example.com", password, "192.0.2.1")
	require.False(t, errors.As(err, new(*users.ThrottledError)), "four failures a window ago and one now are not five: %v", err)
	require.NoError(t, err)
}

func TestFailuresFromSeveralProcessesAreAllCounted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.create(t, "ada@example.com", users.RoleAdmin)
	// A second service on the same database stands for another web process.
	other, err := users.New(users.Options{DB: b.db.DB, Now: b.clock.Now, BcryptCost: bcrypt.MinCost})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range users.DefaultThrottleFailures - 1 {
		svc := []*users.Service{b.svc, other}[i%2]
		wg.Go(func() {
			_, _, err := svc.SignIn(t.Context(), "ada@example.com", "wrong password!", "192.0.2.1")
			require.ErrorIs(t, err, users.ErrBadCredentials)
		})
	}
	wg.Wait()
	require.Equal(t, []string{"4", "4"}, b.db.Strings(t, `SELECT CAST(failures AS TEXT) FROM sign_in_failures ORDER BY key`), "no failure lost to another")
	_, _, err = other.SignIn(t.Context(), "ada@example.com", "wrong password!", "192.0.2.1")
	require.ErrorIs(t, err, users.ErrBadCredentials)
	_, _, err = b.svc.SignIn(t.Context(), "ada@example.com", password, "192.0.2.1")
	require.ErrorAs(t, err, new(*users.ThrottledError), "the fifth failure, in the other process, throttles this one")
}

func TestOptionsAreChecked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct {
		o    users.Options
		want string
	}{
		{users.Options{}, "users: Options.DB is required"},
		{users.Options{DB: b.db.DB, SessionIdle: -time.Second}, "users: Options.SessionIdle is negative"},
		{users.Options{DB: b.db.DB, ThrottleFailures: -1}, "users: Options.ThrottleFailures is negative"},
		{users.Options{DB: b.db.DB, BcryptCost: 3}, "users: Options.BcryptCost is 3"},
	} {
		_, err := users.New(tc.o)
		require.ErrorContains(t, err, tc.want)
	}
	require.Equal(t, "too many failed sign-ins: try again in 1m30s", (&users.ThrottledError{RetryAfter: 90*time.Second + 300*time.Millisecond}).Error())
	require.Equal(t, "too many failed sign-ins: try again in 1s", (&users.ThrottledError{RetryAfter: time.Millisecond}).Error())
}
