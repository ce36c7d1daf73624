package redistest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// New returns the URL of a Redis database that belongs to t alone.
// A REDIS_URL that does not answer fails the test: it never skips.
func New(t testing.TB) string {
	t.Helper()
	base := os.Getenv("REDIS_URL")
	if base == "" {
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			t.Fatalf("starting miniredis: %v", err)
		}
		t.Cleanup(m.Close)
		return "redis://" + m.Addr()
	}
	opt, err := redis.ParseURL(base)
	if err != nil {
		t.Fatalf("REDIS_URL for tests must be a single server (redis://host:port): %v", err)
	}
	ctx := context.Background()
	opt.DB = 0
	admin := redis.NewClient(opt)
	defer admin.Close()
	if err := admin.Ping(ctx).Err(); err != nil {
		t.Fatalf("REDIS_URL is set but Redis does not answer (start it, or unset REDIS_URL for the embedded one): %v", err)
	}

	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for n := 1; n <= 15; n++ {
			key := fmt.Sprintf("liaison-test:db:%d", n)
			ok, err := admin.SetNX(ctx, key, token, 10*time.Minute).Result()
			if err != nil {
				t.Fatalf("reserving a redis database: %v", err)
			}
			if !ok {
				continue
			}
			o := *opt
			o.DB = n
			c := redis.NewClient(&o)
			if err := c.FlushDB(ctx).Err(); err != nil {
				t.Fatalf("emptying redis database %d: %v", n, err)
			}
			c.Close()
			t.Cleanup(func() {
				o := *opt
				a := redis.NewClient(&o)
				defer a.Close()
				if a.Get(context.Background(), key).Val() == token {
					a.Del(context.Background(), key)
				}
			})
			u, _ := url.Parse(base)
			u.Path = "/" + strconv.Itoa(n)
			return u.String()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no free redis test database in 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
