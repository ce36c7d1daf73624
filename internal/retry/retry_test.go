package retry_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/retry"
)

// What a domain wraps keeps its kind: the queue finds a Later or Never
// through any number of %w, and Never adds nothing to what a person reads.
func TestTheKindSurvivesWrapping(t *testing.T) {
	t.Parallel()
	cause := errors.New("answered 503 Service Unavailable")
	err := fmt.Errorf("delivery d1: %w", &retry.Later{After: 5 * time.Second, Err: cause})
	later, ok := errors.AsType[*retry.Later](err)
	require.True(t, ok)
	require.Equal(t, 5*time.Second, later.After)
	require.ErrorIs(t, err, cause, "the failure behind a retry stays readable")
	require.NotErrorIs(t, err, retry.ErrNever)
	require.Equal(t, "delivery d1: failed; again in 5s: answered 503 Service Unavailable", err.Error())

	postponed := &retry.Later{After: time.Minute, Reason: "over the target's limit"}
	require.Equal(t, "postponed for 1m0s: over the target's limit", postponed.Error())
	require.NoError(t, errors.Unwrap(postponed), "a postponement wraps no failure")

	never := fmt.Errorf("run r1: %w", retry.Never(fmt.Errorf("rendering the body: %w", cause)))
	require.ErrorIs(t, never, retry.ErrNever)
	require.ErrorIs(t, never, cause)
	require.Equal(t, "run r1: rendering the body: answered 503 Service Unavailable", never.Error())
	_, ok = errors.AsType[*retry.Later](never)
	require.False(t, ok)
	require.NoError(t, retry.Never(nil))
}
