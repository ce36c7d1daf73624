package jobs

import (
	"fmt"
	"slices"
)

// QueueTasks is how many tasks one queue holds in each state, as asynq's
// inspector counts them.
type QueueTasks struct {
	Queue                                       string
	Pending, Active, Scheduled, Retry, Archived int
}

// queueNames lists Liaison's queues, most urgent first.
var queueNames = []string{QueueCritical, QueueDefault, QueueLow}

// QueueTasks counts the tasks of every queue (critical, default, low), for metrics read
// at scrape time. A queue that never held a task does not exist in Redis
// yet and is reported with zeros, so every queue always has its series.
// asynq's inspector takes no context; go-redis's own timeouts bound it.
func (c *Client) QueueTasks() ([]QueueTasks, error) {
	existing, err := c.ins.Queues()
	if err != nil {
		return nil, fmt.Errorf("jobs: listing queues: %w", err)
	}
	out := make([]QueueTasks, 0, len(queueNames))
	for _, q := range queueNames {
		qt := QueueTasks{Queue: q}
		if slices.Contains(existing, q) {
			info, err := c.ins.GetQueueInfo(q)
			if err != nil {
				return nil, fmt.Errorf("jobs: reading queue %s: %w", q, err)
			}
			qt.Pending, qt.Active, qt.Scheduled, qt.Retry, qt.Archived = info.Pending, info.Active, info.Scheduled, info.Retry, info.Archived
		}
		out = append(out, qt)
	}
	return out, nil
}
