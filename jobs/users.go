package jobs

import (
	"time"

	"github.com/hibiken/asynq"

	"github.com/liaison/liaison/internal/users"
)

// TypeUsersSweep deletes the web UI's ended sessions, expired or used
// one-time links and closed sign-in failure windows (users.Sweep). The
// scheduler enqueues it every hour (UsersSweepSource): nothing waits on
// it but the tables' size.
const TypeUsersSweep = "users:sweep"

// usersSweep runs every hour; a sweep takes at most five minutes.
var usersSweep = sweep{typ: TypeUsersSweep, every: time.Hour, timeout: 5 * time.Minute}

// NewUsersSweepTask makes a users sweep task (sweep's options).
func NewUsersSweepTask() (*asynq.Task, []asynq.Option) { return usersSweep.task() }

func handleUsersSweep(svc *users.Service) asynq.HandlerFunc {
	return handleSweep("users' sessions and links", svc.Sweep)
}

// UsersSweepSource is the periodic source of the users sweep.
type UsersSweepSource struct{}

var _ PeriodicSource = UsersSweepSource{}

// PeriodicTasks returns the users sweep, every hour.
func (UsersSweepSource) PeriodicTasks() ([]*asynq.PeriodicTaskConfig, error) {
	return usersSweep.periodic(), nil
}
