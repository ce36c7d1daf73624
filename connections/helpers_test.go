package connections_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/secret"
)

// sealedTokens reads the stored (sealed) access and refresh tokens.
func (b *testBundle) sealedTokens(t *testing.T, id string) [2]string {
	t.Helper()
	var out [2]string
	require.NoError(t, b.db.QueryRowContext(context.Background(),
		`SELECT access_token, refresh_token FROM connections WHERE id = $1`, id).Scan(&out[0], &out[1]))
	return out
}

// openTokens opens the stored tokens with the test's key ring.
func (b *testBundle) openTokens(t *testing.T, id string) (access, refresh string) {
	t.Helper()
	s := b.sealedTokens(t, id)
	ring, err := secret.NewRing(b.keys)
	require.NoError(t, err)
	access, err = ring.OpenString(s[0], "connection:"+id+":access_token")
	require.NoError(t, err)
	refresh, err = ring.OpenString(s[1], "connection:"+id+":refresh_token")
	require.NoError(t, err)
	return access, refresh
}
