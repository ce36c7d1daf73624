package connections_test

import (
	"context"
	"fmt"
	"strings"
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

// dumpTables reads every column of every row of the tables as text.
func (b *testBundle) dumpTables(t *testing.T, tables ...string) string {
	t.Helper()
	var sb strings.Builder
	for _, table := range tables {
		rows, err := b.db.QueryContext(context.Background(), `SELECT * FROM `+table)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&sb, "%s.%s=%v\n", table, cols[i], v)
			}
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
	return sb.String()
}
