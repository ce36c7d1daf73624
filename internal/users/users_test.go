package users_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/users"
)

func TestCreateNormalisesAndDefaultsTheRight(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.create(t, "  Ada@Example.COM ", users.RoleAdmin)
	require.Equal(t, "ada@example.com", admin.Email)
	require.True(t, admin.ManagesIntegrations, "admins manage integrations unless told otherwise")
	member := b.create(t, "bob@example.com", "")
	require.Equal(t, users.RoleMember, member.Role)
	require.False(t, member.ManagesIntegrations)
	off := false
	u, err := b.svc.Create(t.Context(), users.Input{Email: "cy@example.com", Password: password, Role: users.RoleAdmin, ManagesIntegrations: &off})
	require.NoError(t, err)
	require.False(t, u.ManagesIntegrations)

	got, err := b.svc.Get(t.Context(), admin.ID)
	require.NoError(t, err)
	require.Equal(t, admin.Email, got.Email)
	require.True(t, got.HasPassword)
	list, err := b.svc.List(t.Context())
	require.NoError(t, err)
	require.Len(t, list, 3)
	n, err := b.svc.Count(t.Context())
	require.NoError(t, err)
	require.Equal(t, 3, n)
	_, err = b.svc.Get(t.Context(), "usr_nope")
	require.ErrorIs(t, err, users.ErrNotFound)
}

func TestCreateNamesEveryBadField(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.create(t, "ada@example.com", users.RoleAdmin)
	for _, tc := range []struct {
		name string
		in   users.Input
		want []string
	}{
		{"nothing", users.Input{}, []string{"email", "password"}},
		{"not an email", users.Input{Email: "ada", Password: password}, []string{"email"}},
		{"display name", users.Input{Email: "Ada <ada@example.org>", Password: password}, []string{"email"}},
		{"no domain dot", users.Input{Email: "ada@localhost", Password: password}, []string{"email"}},
		{"taken, in other case", users.Input{Email: "ADA@example.com", Password: password}, []string{"email"}},
		{"short password", users.Input{Email: "b@example.com", Password: "123456789"}, []string{"password"}},
		{"long password", users.Input{Email: "b@example.com", Password: strings.Repeat("é", 37)}, []string{"password"}},
		{"role", users.Input{Email: "b@example.com", Password: password, Role: "root"}, []string{"role"}},
	} {
		_, err := b.svc.Create(t.Context(), tc.in)
		require.Equal(t, tc.want, fields(t, err), tc.name)
	}
	_, err := b.svc.Create(t.Context(), users.Input{Email: "b@example.com", Password: strings.Repeat("x", 72)})
	require.NoError(t, err, "72 bytes is bcrypt's limit, and allowed")
	n, err := b.svc.Count(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, n, "nothing bad was saved")
}

func TestTheLastAdminStays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ada := b.create(t, "ada@example.com", users.RoleAdmin)
	member := users.RoleMember
	_, err := b.svc.Update(t.Context(), ada.ID, users.Change{Role: &member})
	require.Equal(t, []string{"role"}, fields(t, err))
	_, err = b.svc.Update(t.Context(), ada.ID, users.Change{Disabled: new(true)})
	require.Equal(t, []string{"disabled"}, fields(t, err))
	u, err := b.svc.Update(t.Context(), ada.ID, users.Change{ManagesIntegrations: new(false)})
	require.NoError(t, err, "an admin may lose the right to manage integrations")
	require.False(t, u.ManagesIntegrations)
	_, err = b.svc.Update(t.Context(), ada.ID, users.Change{Role: new(users.Role("root"))})
	require.Equal(t, []string{"role"}, fields(t, err))

	// A disabled admin does not count.
	cy := b.create(t, "cy@example.com", users.RoleAdmin)
	_, err = b.svc.Update(t.Context(), cy.ID, users.Change{Disabled: new(true)})
	require.NoError(t, err)
	_, err = b.svc.Update(t.Context(), ada.ID, users.Change{Role: &member})
	require.Equal(t, []string{"role"}, fields(t, err))

	bob := b.create(t, "bob@example.com", users.RoleMember)
	admin := users.RoleAdmin
	_, err = b.svc.Update(t.Context(), bob.ID, users.Change{Role: &admin})
	require.NoError(t, err)
	u, err = b.svc.Update(t.Context(), ada.ID, users.Change{Role: &member})
	require.NoError(t, err, "with another enabled admin, this one may go")
	require.Equal(t, users.RoleMember, u.Role)
	_, err = b.svc.Update(t.Context(), "usr_nope", users.Change{Disabled: new(true)})
	require.ErrorIs(t, err, users.ErrNotFound)
}

func TestTwoAdminsDemotedAtOnceLeaveOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := []string{b.create(t, "ada@example.com", users.RoleAdmin).ID, b.create(t, "cy@example.com", users.RoleAdmin).ID}
	member := users.RoleMember
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { _, errs[i] = b.svc.Update(t.Context(), id, users.Change{Role: &member}) })
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		if err != nil {
			require.Equal(t, []string{"role"}, fields(t, err))
			refused++
		}
	}
	require.Equal(t, 1, refused, "one of the two stays admin")
}
