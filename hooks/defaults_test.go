package hooks_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
)

// A Retry-After may push an attempt back as far as the default schedule's
// longest wait, no further.
func TestRetryAfterMaxIsTheDefaultSchedulesLongestStep(t *testing.T) {
	t.Parallel()
	require.Equal(t, slices.Max(hooks.DefaultSchedule()), hooks.DefaultRetryAfterMax)
}

// DefaultSchedule and calls.DefaultSchedule are fresh slices: a caller that
// changes one changes nobody else's.
func TestDefaultSchedulesAreFresh(t *testing.T) {
	t.Parallel()
	for _, f := range []func() hooks.Schedule{hooks.DefaultSchedule, calls.DefaultSchedule} {
		s := f()
		want := s[1]
		s[1] = 0
		require.Equal(t, want, f()[1])
	}
}
