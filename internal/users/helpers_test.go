package users_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/liaison/liaison/internal/clocktest"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/users"
)

type testBundle struct {
	db    dbtest.Database
	svc   *users.Service
	clock *clocktest.Clock
}

// password is long enough for every rule.
const password = "correct horse battery"

// setup opens a database of the test's own and a service on it at
// bcrypt's lowest cost, on a clock the test moves; tune adjusts the
// options.
func setup(t *testing.T, tune ...func(*users.Options)) *testBundle {
	t.Helper()
	d := dbtest.New(t)
	c := clocktest.New(time.Now())
	o := users.Options{DB: d.DB, Now: c.Now, BcryptCost: bcrypt.MinCost}
	for _, f := range tune {
		f(&o)
	}
	s, err := users.New(o)
	require.NoError(t, err)
	return &testBundle{db: d, svc: s, clock: c}
}

// create makes a user with the password, failing the test if it cannot.
func (b *testBundle) create(t *testing.T, email string, role users.Role) users.User {
	t.Helper()
	u, err := b.svc.Create(t.Context(), users.Input{Email: email, Password: password, Role: role})
	require.NoError(t, err)
	return u
}

// signIn signs in from 192.0.2.1, failing the test if it cannot.
func (b *testBundle) signIn(t *testing.T, email string) users.Session {
	t.Helper()
	_, ss, err := b.svc.SignIn(t.Context(), email, password, "192.0.2.1")
	require.NoError(t, err)
	return ss
}

// invite invites email, failing the test if it cannot, and gives the
// user and the link's token.
func (b *testBundle) invite(t *testing.T, email string) (users.User, string) {
	t.Helper()
	u, token, err := b.svc.Invite(t.Context(), users.Input{Email: email})
	require.NoError(t, err)
	return u, token
}

// failAsStrangers fails a sign-in from the address as each of n emails
// that name nobody.
func (b *testBundle) failAsStrangers(t *testing.T, n int, from string) {
	t.Helper()
	for i := range n {
		_, _, err := b.svc.SignIn(t.Context(), fmt.Sprintf("stranger%d@example.com", i), password, from)
		require.ErrorIs(t, err, users.ErrBadCredentials)
	}
}

// setupLink makes a setup link, failing the test if none is made.
func (b *testBundle) setupLink(t *testing.T) string {
	t.Helper()
	token, ok, err := b.svc.SetupLink(t.Context())
	require.NoError(t, err)
	require.True(t, ok, "no user exists, so a setup link is made")
	return token
}

// works says whether cookie opens a session.
func (b *testBundle) works(t *testing.T, cookie string) bool {
	t.Helper()
	_, _, err := b.svc.Authenticate(t.Context(), cookie)
	if err != nil {
		require.ErrorIs(t, err, users.ErrNoSession)
		return false
	}
	return true
}

// fields lists the fields an *invalid.Error names.
func fields(t *testing.T, err error) []string {
	t.Helper()
	e, ok := invalid.As(err)
	require.True(t, ok, "not an *invalid.Error: %v", err)
	return e.Names()
}
