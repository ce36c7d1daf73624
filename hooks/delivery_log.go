package hooks

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/liaison/liaison/internal/db"
)

// CountDeliveries counts the deliveries the filter selects (its cursor
// and limit aside), up to most: past that it answers most and true. The
// delivery log shows "more than 1,000" rather than counting every row of
// a busy installation each time it refreshes.
func (s *Service) CountDeliveries(ctx context.Context, f DeliveryFilter, most int) (n int, more bool, _ error) {
	f.Cursor = ""
	var args []any
	from, err := f.fromWhere(&args, false)
	if err != nil {
		return 0, false, err
	}
	args = append(args, most+1)
	q := `SELECT count(*) FROM (SELECT 1` + from + ` LIMIT $` + strconv.Itoa(len(args)) + `) AS matched`
	if err := s.opts.DB.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("counting deliveries: %w", err)
	}
	if n > most {
		return most, true, nil
	}
	return n, false, nil
}

// RetryFailed sends again every failed delivery the filter selects (its
// status, cursor and limit aside), each with a fresh round of the
// schedule, as Retry does one; it answers how many it sent again.
func (s *Service) RetryFailed(ctx context.Context, f DeliveryFilter) (int, error) {
	f.Cursor, f.Status = "", statusFailed
	var args []any
	from, err := f.fromWhere(&args, false)
	if err != nil {
		return 0, err
	}
	ids, err := db.QueryStrings(ctx, s.opts.DB, `SELECT d.id`+from, args...)
	if err != nil {
		return 0, fmt.Errorf("finding the failed deliveries to retry: %w", err)
	}
	now := s.now()
	var retried []string
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		// Still failed: one retried from its own page meanwhile is left be.
		args := []any{statusPending, now, statusFailed}
		marks := make([]string, len(chunk))
		for i, id := range chunk {
			args = append(args, id)
			marks[i] = "$" + strconv.Itoa(len(args))
		}
		got, err := db.QueryStrings(ctx, s.opts.DB, `UPDATE deliveries SET status=$1, retry_base=attempts, next_attempt_at=$2, finished_at=NULL, updated_at=$2, batch_id=''
			WHERE status=$3 AND id IN (`+strings.Join(marks, ", ")+`) RETURNING id`, args...)
		if err != nil {
			return len(retried), fmt.Errorf("retrying failed deliveries: %w", err)
		}
		retried = append(retried, got...)
	}
	s.runNow(ctx, retried)
	return len(retried), nil
}

// runNow queues deliveries sent again (a replay, a retry of many), 500 a
// task: should Redis not take them, the sweep queues them (they are
// pending and due).
func (s *Service) runNow(ctx context.Context, ids []string) {
	for start := 0; start < len(ids); start += 500 {
		// As in Retry: a task of a delivery that just finished may still be
		// winding up.
		if err := s.opts.Queue.RunDeliveriesNow(ctx, ids[start:min(start+500, len(ids))]); err != nil {
			s.opts.Log.ErrorContext(ctx, "queueing deliveries sent again; the sweep will queue them", "error", err)
			return
		}
	}
}
