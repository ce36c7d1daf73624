package jobs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
)

// A target may hold a quarter of a worker's slots (cmd/liaison's openHooks):
// hooks' own defaults, for a Service built without a worker's figures, are
// that quarter of this package's.
func TestTargetShareDefaultsAreAQuarterOfTheWorkers(t *testing.T) {
	t.Parallel()
	require.Equal(t, DefaultDeliveryConcurrency/4, hooks.DefaultTargetConcurrency)
	require.Equal(t, DefaultConcurrency/4, calls.DefaultTargetConcurrency)
}
