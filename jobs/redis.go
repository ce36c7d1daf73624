package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/liaison/liaison/internal/db"
)

// Redis is the queue's connection: a client for a real Redis (a single
// server, Sentinel or Cluster), or for the embedded one.
type Redis struct {
	redis.UniversalClient
	embedded *miniredis.Miniredis
}

// Embedded reports whether this is the in-process Redis.
func (r *Redis) Embedded() bool { return r.embedded != nil }

// Close closes the client and stops the embedded server, if any.
func (r *Redis) Close() error {
	err := r.UniversalClient.Close()
	if r.embedded != nil {
		r.embedded.Close()
	}
	return err
}

// OpenRedis connects to rawURL (forms in config.Config.RedisURL) or, when it
// is empty, starts an embedded Redis on a loopback port and warns that
// queued work does not survive a restart.
func OpenRedis(ctx context.Context, rawURL string, log *slog.Logger) (*Redis, error) {
	r := &Redis{}
	if rawURL == "" {
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("jobs: starting embedded redis: %w", err)
		}
		log.Warn("REDIS_URL is not set: using an embedded in-process Redis; queued work does not survive a restart and cannot be shared with other processes", "addr", m.Addr())
		r.embedded = m
		r.UniversalClient = redis.NewClient(&redis.Options{Addr: m.Addr(), PoolSize: 64})
	} else {
		c, err := NewRedisClient(rawURL)
		if err != nil {
			return nil, err
		}
		r.UniversalClient = c
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := r.Ping(pctx).Err(); err != nil {
		r.Close()
		return nil, fmt.Errorf("jobs: redis does not answer: %w", err)
	}
	return r, nil
}

// NewRedisClient builds a client from one of the REDIS_URL forms:
//
//	redis://[user:password@]host:port[/db]
//	rediss://…   (TLS)
//	redis-sentinel://[:password@]host:port[/db]?master_name=NAME[&addr=host2:port…]
//	redis-cluster://[user:password@]host:port[?addr=host2:port…]
//
// The sentinel and cluster forms also come with an "s" for TLS
// (rediss-sentinel://, rediss-cluster://). Query parameters are go-redis's
// (dial_timeout, pool_size, …).
func NewRedisClient(rawURL string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("jobs: REDIS_URL is not a URL")
	}
	scheme, kind, _ := strings.Cut(u.Scheme, "-")
	u.Scheme = scheme
	switch kind {
	case "":
		opt, err := redis.ParseURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("jobs: REDIS_URL: %w", err)
		}
		opt.PoolSize = max(opt.PoolSize, 64)
		return redis.NewClient(opt), nil
	case "sentinel":
		opt, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("jobs: REDIS_URL (sentinel): %w", err)
		}
		return redis.NewFailoverClient(opt), nil
	case "cluster":
		opt, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("jobs: REDIS_URL (cluster): %w", err)
		}
		return redis.NewClusterClient(opt), nil
	}
	return nil, fmt.Errorf("jobs: REDIS_URL scheme %q is not redis, rediss, redis-sentinel or redis-cluster", u.Scheme+"-"+kind)
}

// Unavailable reports whether err says that Redis is out of reach for a
// moment: the connection refused, reset or cut (db.NetworkDown), the
// client closed or its pool exhausted, or a server that cannot answer yet
// (LOADING its data after a restart, a replica promoted or still syncing,
// a cluster without a quorum). Work that failed this way succeeds when
// tried again later; the API answers it with 503 and Retry-After.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	return errors.Is(err, ErrUnavailable) || errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, io.EOF) ||
		redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsClusterDownError(err) ||
		redis.IsTryAgainError(err) || redis.IsMasterDownError(err) || db.NetworkDown(err)
}
