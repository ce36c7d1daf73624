package send

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/redistest"
)

// A slot taken for a request that another limit then held back is given
// back whole: the target's rate is not spent on nothing.
func TestAnUnsentRequestGivesItsRateSlotBack(t *testing.T) {
	t.Parallel()
	opt, err := redis.ParseURL(redistest.New(t))
	require.NoError(t, err)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	l := NewLimiter(rdb)
	ctx := context.Background()
	lim := Limits{RateLimit: 0.5, MaxConcurrency: 1} // one request every 2 s, one at a time

	release, wait, err := l.Acquire(ctx, "hook:h1", lim)
	require.NoError(t, err)
	require.Zero(t, wait)
	_, wait, err = l.Acquire(ctx, "hook:h1", lim)
	require.NoError(t, err)
	require.Positive(t, wait, "the slot is taken")
	release(false)

	release, wait, err = l.Acquire(ctx, "hook:h1", lim)
	require.NoError(t, err)
	require.Zero(t, wait, "nothing was sent: both the rate and the concurrency slot came back")
	release(true)

	_, wait, err = l.Acquire(ctx, "hook:h1", lim)
	require.NoError(t, err)
	require.Greater(t, wait, time.Second, "a sent request spends its rate slot")
}
