package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrUnavailable marks an error as the database being out of reach; wrap
// it (fmt.Errorf("…: %w", db.ErrUnavailable)) where code learns that
// another way. Unavailable recognises it.
var ErrUnavailable = errors.New("db: the database is not reachable")

// Unavailable reports whether err says that the database (or the network
// to it) is out of reach for a moment, rather than that the statement or
// its data is wrong: the connection refused, reset or closed, the pool
// closed, or PostgreSQL shutting down, starting up, full or out of
// resources. Work that failed this way succeeds when tried again later;
// the API answers it with 503 and Retry-After.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection_exception
			return true
		case strings.HasPrefix(pgErr.Code, "53"): // insufficient_resources: too many connections, out of memory, disk full
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // admin or crash shutdown, cannot connect now
			return true
		}
		return false // any other answer from the server is about the statement
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	if pgconn.Timeout(err) && !errors.Is(err, context.Canceled) {
		return true
	}
	// database/sql does not export its "database is closed" error.
	if strings.Contains(err.Error(), "sql: database is closed") {
		return true
	}
	return NetworkDown(err)
}

// NetworkDown reports whether err is a connection to a server refused,
// reset, cut or closed under the caller: the errors that PostgreSQL's and
// Redis's clients pass on unwrapped when the server goes away mid-answer.
func NetworkDown(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF)
}
