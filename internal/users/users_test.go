package users_test

import (
	"strings"
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
