package send

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/liaison/liaison/internal/retry"
)

// States a delivery or a call is left in after an attempt.
const (
	StatusRetrying  = "retrying"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Step is where an attempt leaves its delivery or call: its new status,
// when the next attempt is due and when it finished (either may be NULL),
// the error to show, and what the queue should do: Again is nil when the
// work is done (succeeded or failed), else a *retry.Later after the
// attempt's failure, with the wait before the next attempt.
type Step struct {
	Status         string
	Next, Finished sql.NullTime
	LastError      string
	Again          error
}

// Advance applies the outcome of an attempt, the round-th of the current
// round of the schedule, shared by deliveries and calls: succeeded; failed;
// or retrying after the schedule's next delay (jittered with rnd), which a
// Retry-After answer may lengthen (up to retryAfterMax) but never shorten;
// failed when the schedule is exhausted.
func Advance(schedule Schedule, round int, a Attempt, outcome Outcome, retryAfter string, now time.Time, rnd func() float64, retryAfterMax time.Duration) Step {
	st := Step{LastError: a.Error}
	if st.LastError == "" && outcome != Succeeded {
		st.LastError = "answered " + strconv.Itoa(a.Status) + " " + http.StatusText(a.Status)
	}
	switch outcome {
	case Succeeded:
		st.Status, st.LastError = StatusSucceeded, ""
	case Retry:
		delay, ok := schedule.Delay(round, rnd)
		if !ok {
			st.Status = StatusFailed
			st.LastError = fmt.Sprintf("gave up after %d attempts: %s", round, st.LastError)
			break
		}
		if ra, ok := ParseRetryAfter(retryAfter, now); ok {
			delay = ClampRetryAfter(ra, delay, max(delay, retryAfterMax))
		}
		st.RetryIn(delay, now)
	case Fail, Disable:
		st.Status = StatusFailed
	}
	if st.Again == nil {
		st.Finished = sql.NullTime{Time: now, Valid: true}
	}
	return st
}

// RetryIn makes the step a retry after delay, following the failure that
// LastError says.
func (st *Step) RetryIn(delay time.Duration, now time.Time) {
	st.Status = StatusRetrying
	st.Again = &retry.Later{After: delay, Err: errors.New(st.LastError)}
	st.Next = sql.NullTime{Time: now.Add(delay), Valid: true}
}
