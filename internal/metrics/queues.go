package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liaison/liaison/jobs"
)

// QueueTasks counts the tasks of each queue; jobs.Client.QueueTasks is one.
type QueueTasks func() ([]jobs.QueueTasks, error)

// WatchQueues adds liaison_queue_tasks{queue,state}, read through count at
// every scrape, so that the gauges are never older than the scrape. One
// process is enough to report them (the web process does): every process
// would read the same Redis.
func (m *Metrics) WatchQueues(count QueueTasks) {
	m.reg.MustRegister(&queueCollector{count: count})
}

var queueTasksDesc = prometheus.NewDesc("liaison_queue_tasks",
	"Tasks in each queue (critical, default, low) by state (pending, active, scheduled, retry, archived), read at scrape time. A batch of deliveries' first attempts (up to 64) is one task.",
	[]string{"queue", "state"}, nil)

// queueCollector turns queue counts into gauges at scrape time.
type queueCollector struct{ count QueueTasks }

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueTasksDesc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	queues, err := c.count()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueTasksDesc, fmt.Errorf("counting queued tasks: %w", err))
		return
	}
	for _, q := range queues {
		for i, n := range []int{q.Pending, q.Active, q.Scheduled, q.Retry, q.Archived} {
			ch <- prometheus.MustNewConstMetric(queueTasksDesc, prometheus.GaugeValue, float64(n), q.Queue, queueTaskStates[i])
		}
	}
}
