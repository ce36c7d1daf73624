package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"
)

// TestQueueTasksCountsEachState puts tasks in each state on a Redis with no
// worker and reads them back as the queue gauges will.
func TestQueueTasksCountsEachState(t *testing.T) {
	t.Parallel()
	r := openRedis(t)
	c := newClient(t, r)

	// Before any task, every queue is reported, with zeros.
	got, err := c.QueueTasks()
	require.NoError(t, err)
	require.Equal(t, []QueueTasks{{Queue: QueueCritical}, {Queue: QueueDefault}, {Queue: QueueLow}}, got)

	ctx := context.Background()
	for range 2 {
		_, err := c.Enqueue(ctx, asynq.NewTask("test:pending", nil), asynq.Queue(QueueDefault))
		require.NoError(t, err)
	}
	_, err = c.Enqueue(ctx, asynq.NewTask("test:scheduled", nil), asynq.Queue(QueueDefault), asynq.ProcessIn(time.Hour))
	require.NoError(t, err)
	info, err := c.Enqueue(ctx, asynq.NewTask("test:archived", nil), asynq.Queue(QueueLow))
	require.NoError(t, err)
	require.NoError(t, c.ins.ArchiveTask(QueueLow, info.ID))

	got, err = c.QueueTasks()
	require.NoError(t, err)
	require.Equal(t, []QueueTasks{
		{Queue: QueueCritical},
		{Queue: QueueDefault, Pending: 2, Scheduled: 1},
		{Queue: QueueLow, Archived: 1},
	}, got)
}
