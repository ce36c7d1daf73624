package hooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks/send"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/id"
)

// recordBundle is a service on a test database with n pending deliveries.
func recordBundle(t *testing.T, n int) (*Service, []string) {
	t.Helper()
	d := dbtest.New(t)
	s := &Service{opts: Options{DB: d.DB}.withDefaults()}
	now := s.now()
	events := make([]*prepared, n)
	rows := make([]deliveryRow, n)
	ids := make([]string, n)
	for i := range n {
		events[i] = &prepared{Event: Event{ID: fmt.Sprintf("evt_%d", i), Type: "order.paid", OccurredAt: now, ReceivedAt: now,
			Source: sourceAPI, Profile: json.RawMessage(`{}`), Data: json.RawMessage(`{}`)}}
		ids[i] = id.NewHex("dlv_")
		rows[i] = deliveryRow{id: ids[i], eventID: events[i].ID, kind: "webhook", targetID: "wh_1", at: now}
	}
	require.NoError(t, d.InTx(context.Background(), func(tx *sql.Tx) error {
		stored, err := insertEvents(context.Background(), tx, events)
		if err != nil {
			return err
		}
		require.Len(t, stored, n)
		return insertDeliveries(context.Background(), tx, rows)
	}))
	return s, ids
}

func sentAttempt(id string) Attempt {
	return Attempt{Number: 1, StartedAt: time.Now().UTC().Truncate(time.Microsecond), DurationMS: 1.5, Method: "POST",
		URL: "https://example.com/hook", RequestHeaders: map[string]string{"Webhook-Id": id}, RequestBody: `{"id":"` + id + `"}`,
		Status: 204, ResponseHeaders: map[string]string{}, Outcome: send.Succeeded.String()}
}

func TestAttemptsEndingTogetherAreAllRecorded(t *testing.T) {
	t.Parallel()
	s, ids := recordBundle(t, 300)
	ctx := context.Background()
	finished := sql.NullTime{Time: s.now(), Valid: true}
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Go(func() {
			errs[i] = s.recordAttempt(ctx, id, sentAttempt(id), statusSucceeded, sql.NullTime{}, finished, "")
		})
	}
	wg.Wait()
	for i := range ids {
		require.NoError(t, errs[i], ids[i])
	}
	for _, id := range ids {
		d, err := s.Delivery(ctx, id)
		require.NoError(t, err)
		require.Equal(t, statusSucceeded, d.Status, id)
		require.Equal(t, 1, d.AttemptCount)
		require.Equal(t, 204, d.LastStatus)
		require.Len(t, d.Attempts, 1)
		require.Equal(t, id, d.Attempts[0].RequestHeaders["Webhook-Id"], "each delivery got its own attempt")
		require.Equal(t, `{"id":"`+id+`"}`, d.Attempts[0].RequestBody)
	}
	// A writer may still be on its way out after the last caller returned;
	// read its counters under its lock.
	// A writer may still be on its way out after the last caller returned.
	require.Eventually(t, s.recorder.idle, 5*time.Second, time.Millisecond, "no writer or attempt is left behind")
}

func TestABadAttemptDoesNotSpoilItsBatch(t *testing.T) {
	t.Parallel()
	s, ids := recordBundle(t, 2)
	ctx := context.Background()
	next := sql.NullTime{Time: s.now().Add(time.Minute), Valid: true}
	// ids[0] has its first attempt recorded already: a second attempt 1
	// breaks the batch's statement (the attempt numbers are unique).
	require.NoError(t, s.writeOne(ctx, &attemptRecord{deliveryID: ids[0], a: sentAttempt(ids[0]), status: statusRetrying,
		next: next, lastError: "answered 503", updatedAt: s.now()}))
	second := sentAttempt(ids[0])
	second.Number = 2
	records := []*attemptRecord{
		{deliveryID: ids[0], a: second, status: statusSucceeded, finished: sql.NullTime{Time: s.now(), Valid: true}, updatedAt: s.now()},
		{deliveryID: ids[0], a: sentAttempt(ids[0]), status: statusSucceeded, updatedAt: s.now()},
		{deliveryID: ids[1], a: sentAttempt(ids[1]), status: statusRetrying, next: next, lastError: "answered 503", updatedAt: s.now()},
	}
	records[2].a.Status, records[2].a.Outcome = 503, send.Retry.String()
	batch := make([]*batchCall[*attemptRecord, struct{}], len(records))
	for i, r := range records {
		batch[i] = &batchCall[*attemptRecord, struct{}]{in: r, done: make(chan struct{})}
	}
	s.writeBatch(ctx, batch)
	for _, c := range batch {
		<-c.done
	}
	require.NoError(t, batch[0].err)
	require.Error(t, batch[1].err)
	require.NoError(t, batch[2].err)

	d, err := s.Delivery(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, statusSucceeded, d.Status)
	require.Len(t, d.Attempts, 2)
	d, err = s.Delivery(ctx, ids[1])
	require.NoError(t, err)
	require.Equal(t, statusRetrying, d.Status)
	require.Equal(t, "answered 503", d.LastError)
	require.WithinDuration(t, next.Time, *d.NextAttemptAt, time.Millisecond)
	require.Equal(t, 503, d.Attempts[0].Status)
}

func TestABatchIsWrittenTogether(t *testing.T) {
	t.Parallel()
	s, ids := recordBundle(t, 3)
	ctx := context.Background()
	var batch []*attemptRecord
	for i, id := range ids {
		r := &attemptRecord{deliveryID: id, a: sentAttempt(id), status: statusSucceeded,
			finished: sql.NullTime{Time: s.now(), Valid: true}, updatedAt: s.now()}
		if i == 1 {
			r.a.Status, r.a.Outcome, r.status, r.finished, r.lastError = 500, send.Retry.String(), statusRetrying, sql.NullTime{}, "answered 500"
			r.next = sql.NullTime{Time: s.now().Add(time.Second), Valid: true}
		}
		batch = append(batch, r)
	}
	require.NoError(t, s.writeTogether(ctx, batch))
	for i, id := range ids {
		d, err := s.Delivery(ctx, id)
		require.NoError(t, err)
		require.Len(t, d.Attempts, 1)
		require.Equal(t, 1, d.AttemptCount)
		require.Equal(t, id, d.Attempts[0].RequestHeaders["Webhook-Id"])
		if i == 1 {
			require.Equal(t, statusRetrying, d.Status)
			require.Equal(t, 500, d.LastStatus)
			require.Equal(t, "answered 500", d.LastError)
			require.NotNil(t, d.NextAttemptAt)
			require.Nil(t, d.FinishedAt)
			continue
		}
		require.Equal(t, statusSucceeded, d.Status)
		require.NotNil(t, d.FinishedAt)
	}
}
