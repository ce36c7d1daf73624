package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// refusingConnector answers the first refusals connects with err, then a
// connection.
type refusingConnector struct {
	driver.Connector
	err      error
	refusals int
	calls    int
}

type fakeConn struct{ driver.Conn }

func (c *refusingConnector) Connect(context.Context) (driver.Conn, error) {
	c.calls++
	if c.calls <= c.refusals {
		return nil, c.err
	}
	return fakeConn{}, nil
}

// TestConnectRetryConnector checks retryConnector's loop on both dialects:
// a full server (53300) or one starting up (57P03) is tried again and
// counted; any other refusal, or one that lasts past the retry budget or
// the caller's context, is returned.
func TestConnectRetryConnector(t *testing.T) {
	t.Parallel()
	full := &pgconn.PgError{Severity: "FATAL", Code: "53300", Message: "sorry, too many clients already"}
	for _, tc := range []struct {
		name     string
		err      error
		refusals int
		retryFor time.Duration
		wantErr  bool
		retries  int64
	}{
		{"full, then a slot frees", full, 3, time.Second, false, 3},
		{"starting up", &pgconn.PgError{Severity: "FATAL", Code: "57P03", Message: "the database system is starting up"}, 2, time.Second, false, 2},
		{"wrong password is not retried", &pgconn.PgError{Severity: "FATAL", Code: "28P01", Message: "password authentication failed"}, 1, time.Second, true, 0},
		{"full for longer than the budget", full, 1000, 50 * time.Millisecond, true, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := &refusingConnector{err: tc.err, refusals: tc.refusals}
			c := &retryConnector{Connector: inner, retries: &atomic.Int64{}, retryFor: tc.retryFor}
			conn, err := c.Connect(context.Background())
			if tc.wantErr {
				require.Error(t, err)
				require.True(t, errors.Is(err, tc.err) || errors.As(err, new(*pgconn.PgError)))
			} else {
				require.NoError(t, err)
				require.NotNil(t, conn)
			}
			if tc.retries >= 0 {
				require.Equal(t, tc.retries, c.retries.Load())
			} else {
				require.Positive(t, c.retries.Load())
			}
		})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	c := &retryConnector{Connector: &refusingConnector{err: full, refusals: 1000}, retries: &atomic.Int64{}, retryFor: time.Minute}
	start := time.Now()
	_, err := c.Connect(ctx)
	require.ErrorAs(t, err, new(*pgconn.PgError))
	require.Less(t, time.Since(start), 2*time.Second, "the caller's context ends the wait")
}
