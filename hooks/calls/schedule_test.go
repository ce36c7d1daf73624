package calls

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCallSchedule(t *testing.T) {
	t.Parallel()

	var total time.Duration
	for _, d := range DefaultSchedule() {
		total += d
	}
	require.Zero(t, DefaultSchedule()[0])
	require.LessOrEqual(t, total, time.Hour)
	require.Greater(t, total, 45*time.Minute)
	require.Equal(t, 52*time.Minute+35*time.Second, DefaultSchedule().Span(), "about an hour: a scenario step cannot wait a day")
}
