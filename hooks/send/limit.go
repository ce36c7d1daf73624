package send

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Per-target limits live in Redis so that they hold across every worker
// process. One script checks and takes both at once:
//   - the rate is a GCRA with a burst of one: a key holds the earliest time
//     the next request may start; a request that comes earlier is told how
//     long to wait;
//   - the concurrency cap is a sorted set of leases scored by their expiry,
//     so a worker killed while holding one loses it after the lease time
//     instead of holding the slot forever.
//
// Over a limit the delivery is postponed, not failed: no attempt is used.
// Targets without limits never touch Redis.

var limitScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
if cap > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= cap then
    return -1
  end
end
if interval > 0 then
  local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
  if tat > now then
    return tat - now
  end
  redis.call('SET', KEYS[1], tostring(now + interval), 'PX', interval + 1000)
end
if cap > 0 then
  redis.call('ZADD', KEYS[2], now + lease, ARGV[5])
  redis.call('PEXPIRE', KEYS[2], lease + 1000)
end
return 0
`)

// refundScript gives back a rate slot that was taken for a request never
// sent: the key goes if it still holds the time this grant set (any time
// up to now, which it replaced, allows the same as none).
var refundScript = redis.NewScript(`
if tonumber(redis.call('GET', KEYS[1]) or '0') == tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
end
return 0
`)

// Limits are per-target limits, held across every worker process. Over a
// limit a delivery or a call waits; it does not fail and uses up no attempt.
type Limits struct {
	// RateLimit is requests per second; 0 is unlimited.
	RateLimit float64 `json:"rate_limit"`
	// MaxConcurrency is requests in flight at once; 0 is unlimited.
	MaxConcurrency int `json:"max_concurrency"`
}

// Limiter takes and gives back slots of per-target limits.
type Limiter struct {
	rdb redis.UniversalClient
	// lease bounds how long a concurrency slot is held by a worker that
	// never releases it (killed mid-request).
	lease time.Duration
}

// NewLimiter keeps limits in rdb.
func NewLimiter(rdb redis.UniversalClient) *Limiter {
	return &Limiter{rdb: rdb, lease: 3 * time.Minute}
}

// Acquire takes a slot for one request to the target. wait > 0 means over a
// limit: come back after wait. release(true) gives back the concurrency
// slot once the request is done; release(false) says the request was not
// sent after all (another limit held it back) and gives back the rate slot
// too, so that the target's next request need not wait for it.
func (l *Limiter) Acquire(ctx context.Context, target string, lim Limits) (release func(sent bool), wait time.Duration, _ error) {
	if lim.RateLimit <= 0 && lim.MaxConcurrency <= 0 {
		return func(bool) {}, 0, nil
	}
	var interval int64
	if lim.RateLimit > 0 {
		interval = max(int64(math.Round(1000/lim.RateLimit)), 1)
	}
	// A hash tag keeps both keys in one Redis Cluster slot.
	rateKey := "{liaison:limit:" + target + "}:rate"
	concKey := "{liaison:limit:" + target + "}:conc"
	token := strconv.FormatUint(rand.Uint64(), 36)
	now := time.Now().UnixMilli()
	n, err := limitScript.Run(ctx, l.rdb, []string{rateKey, concKey}, now, interval, lim.MaxConcurrency, l.lease.Milliseconds(), token).Int64()
	if err != nil {
		return nil, 0, fmt.Errorf("checking limits of %s: %w", target, err)
	}
	switch {
	case n < 0:
		// Full: look again soon, spread so that waiters do not come back
		// all together.
		return nil, time.Duration(50+rand.IntN(100)) * time.Millisecond, nil
	case n > 0:
		return nil, time.Duration(n) * time.Millisecond, nil
	}
	return func(sent bool) {
		// A lost release costs a slot until the lease (or the interval)
		// ends; never an error.
		ctx := context.WithoutCancel(ctx)
		if lim.MaxConcurrency > 0 {
			_ = l.rdb.ZRem(ctx, concKey, token).Err()
		}
		if !sent && interval > 0 {
			_ = refundScript.Run(ctx, l.rdb, []string{rateKey}, now+interval).Err()
		}
	}, 0, nil
}
