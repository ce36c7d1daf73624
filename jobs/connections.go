package jobs

import (
	"time"

	"github.com/hibiken/asynq"

	"github.com/liaison/liaison/connections"
)

// TypeConnectionsSweep refreshes OAuth tokens that expire within ten
// minutes, so that calls rarely wait for a refresh. The scheduler enqueues
// it every minute (ConnectionsSweepSource).
const TypeConnectionsSweep = "connections:sweep"

// connectionsSweep runs every minute, each sweep ending before the next.
var connectionsSweep = sweep{typ: TypeConnectionsSweep, every: time.Minute, timeout: time.Minute - 5*time.Second}

// NewSweepTask makes a token sweep task (sweep's options).
func NewSweepTask() (*asynq.Task, []asynq.Option) { return connectionsSweep.task() }

func handleConnectionsSweep(svc *connections.Service) asynq.HandlerFunc {
	return handleSweep("connection tokens", svc.Sweep)
}

// ConnectionsSweepSource is the periodic source of the token sweep.
type ConnectionsSweepSource struct{}

var _ PeriodicSource = ConnectionsSweepSource{}

// PeriodicTasks returns the sweep, every minute.
func (ConnectionsSweepSource) PeriodicTasks() ([]*asynq.PeriodicTaskConfig, error) {
	return connectionsSweep.periodic(), nil
}
