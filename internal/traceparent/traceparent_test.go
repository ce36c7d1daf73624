package traceparent_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/traceparent"
)

func TestValid(t *testing.T) {
	t.Parallel()
	const good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		v    string
		want bool
	}{
		{good, true},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true},
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later", true}, // a future version may grow
		{"", false},
		{good + "-x", false}, // version 00 has exactly four fields
		{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false}, // upper case
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01", false},
		{"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false},
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", false},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, traceparent.Valid(tc.v), "%q", tc.v)
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	const good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := context.Background()
	require.Empty(t, traceparent.From(ctx))
	require.Equal(t, good, traceparent.From(traceparent.With(ctx, good)))
	require.Empty(t, traceparent.From(traceparent.With(ctx, "00-garbage")), "a header that does not parse is dropped")
}
