package id_test

import (
	"math/big"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/id"
)

func TestNewSortsByTimeAndIsUnique(t *testing.T) {
	t.Parallel()
	var ids []string
	seen := map[string]bool{}
	for range 5 {
		for range 200 {
			v := id.New("imp")
			require.Regexp(t, regexp.MustCompile(`^imp_[0-9A-Za-z]{19}$`), v)
			require.False(t, seen[v])
			seen[v] = true
			ids = append(ids, v)
		}
		time.Sleep(2 * time.Millisecond)
	}
	// Ids of different milliseconds sort in creation order.
	require.Less(t, ids[0][:12], ids[len(ids)-1][:12])
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	require.Equal(t, ids[0][:12], sorted[0][:12])
}

func TestBase62(t *testing.T) {
	t.Parallel()
	require.Equal(t, "000z", id.Base62(big.NewInt(61), 4))
	require.Equal(t, "0010", id.Base62(big.NewInt(62), 4))
	require.True(t, id.IsBase62("aZ09"))
	require.False(t, id.IsBase62("a-b"))
}
