package hooks

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// A Retry-After may push an attempt back as far as the default schedule's
// longest wait, no further.
func TestRetryAfterMaxIsTheDefaultSchedulesLongestStep(t *testing.T) {
	t.Parallel()
	require.Equal(t, slices.Max(DefaultSchedule()), DefaultRetryAfterMax)
}

// DefaultSchedule and DefaultCallSchedule are fresh slices: a caller that
// changes one changes nobody else's.
func TestDefaultSchedulesAreFresh(t *testing.T) {
	t.Parallel()
	for _, f := range []func() Schedule{DefaultSchedule, DefaultCallSchedule} {
		s := f()
		want := s[1]
		s[1] = 0
		require.Equal(t, want, f()[1])
	}
}
