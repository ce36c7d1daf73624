package hooks

import (
	"time"

	"github.com/liaison/liaison/hooks/send"
)

// The types of hooks' answers and options that the shared machinery of
// package send defines: a delivery's attempts, a target's limits and
// circuit, and retry schedules.
type (
	Attempt  = send.Attempt
	Limits   = send.Limits
	Circuit  = send.Circuit
	Schedule = send.Schedule
)

// Circuit states, as the API shows them (send.CircuitClosed…).
const (
	CircuitClosed   = send.CircuitClosed
	CircuitOpen     = send.CircuitOpen
	CircuitHalfOpen = send.CircuitHalfOpen
)

// DefaultSchedule is for action hooks and event webhooks (Options.Schedule,
// DELIVERY_SCHEDULE): ten attempts over a little more than three days (75 h 35 min before
// jitter), so a receiver that is down over a weekend still gets the event. Each call
// returns a fresh slice.
func DefaultSchedule() Schedule {
	return Schedule{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}
}
