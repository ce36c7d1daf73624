package connections

import (
	"context"
	"errors"
	"fmt"

	"github.com/liaison/liaison/internal/db"
)

// Limits reports the rate (requests per second) and concurrency limits set
// on a connection, 0 for unlimited; found is false when there is no such
// connection. The API-call engine (hooks) reads them before each call
// through the connection and enforces them across every worker; it names
// them in plain types so that neither package imports the other. Nothing
// secret is read.
func (s *Service) Limits(ctx context.Context, id string) (ratePerSecond float64, maxConcurrency int, found bool, _ error) {
	err := s.opts.DB.QueryRowContext(ctx, `SELECT rate_limit, max_concurrency FROM connections WHERE id = $1`, id).
		Scan(&ratePerSecond, &maxConcurrency)
	if errors.Is(err, db.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("reading limits of connection %s: %w", id, err)
	}
	return ratePerSecond, maxConcurrency, true, nil
}
