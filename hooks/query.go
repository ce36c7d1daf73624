package hooks

import (
	"context"

	"github.com/liaison/liaison/internal/db"
)

// ids runs a query that selects one text column.
func (s *Intake) ids(ctx context.Context, q string, args ...any) ([]string, error) {
	return db.QueryStrings(ctx, s.opts.DB, q, args...)
}
