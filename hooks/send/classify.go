package send

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/liaison/liaison/internal/retry"
)

// TargetKind is what a request goes to; it changes what a 410 means.
type TargetKind uint8

const (
	TargetHook     TargetKind = iota + 1 // an action hook
	TargetWebhook                        // an event-webhook endpoint
	TargetCall                           // an API-call node
	TargetCallback                       // a callback: an event delivered to its owner's URL
)

func (k TargetKind) String() string {
	switch k {
	case TargetHook:
		return "hook"
	case TargetWebhook:
		return "webhook"
	case TargetCall:
		return "call"
	case TargetCallback:
		return "callback"
	}
	return "TargetKind(" + strconv.Itoa(int(k)) + ")"
}

// Outcome is what to do with a delivery after an attempt. The zero value is not an outcome.
type Outcome uint8

const (
	Succeeded Outcome = iota + 1 // done
	Retry                        // try again on the schedule, honouring Retry-After
	Fail                         // stop: retrying cannot help
	Disable                      // stop, and disable the webhook endpoint: it said 410 Gone
)

func (o Outcome) String() string {
	switch o {
	case Succeeded:
		return "succeeded"
	case Retry:
		return "retry"
	case Fail:
		return "fail"
	case Disable:
		return "disable"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Classify decides what follows an attempt from the response status (0 when there was no
// response) and the error of the call:
//   - an error that no retry can fix (errors.Is retry.ErrNever: the destination is
//     refused by the network guard, the body cannot be rendered): Fail, at once;
//   - a response: 2xx Succeeded; 410 Disable for a webhook endpoint and Fail otherwise;
//     408, 425 and 429 Retry; other 4xx Fail, or Retry when the hook asks for retry4xx;
//     anything else (3xx, which Liaison does not follow, 5xx, a non-standard code) Retry;
//   - no response (timeout, connection refused, reset, DNS): Retry.
//
// A status wins over an error that came after it, such as a failed read of the response
// body: the receiver got the request and answered.
func Classify(status int, err error, target TargetKind, retry4xx bool) Outcome {
	if err != nil && errors.Is(err, retry.ErrNever) {
		return Fail
	}
	switch {
	case status == 0:
		return Retry
	case status >= 200 && status < 300:
		return Succeeded
	case status == http.StatusGone:
		if target == TargetWebhook {
			return Disable
		}
		return Fail
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		return Retry
	case status >= 400 && status < 500:
		if retry4xx {
			return Retry
		}
		return Fail
	}
	return Retry
}

// ParseRetryAfter reads a Retry-After header: delta-seconds ("120") or an HTTP date. A date in
// the past gives 0. ok is false for an empty or unreadable value. The result is unbounded:
// pass it through ClampRetryAfter.
func ParseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if isDigits(h) {
		secs, err := strconv.ParseInt(h, 10, 64)
		if err != nil || secs > math.MaxInt64/int64(time.Second) {
			return time.Duration(math.MaxInt64), true // absurdly far; the clamp decides
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ClampRetryAfter keeps a receiver's Retry-After within [lo, hi], so that "Retry-After: 0"
// cannot make Liaison hammer it and a year cannot park a delivery. lo must not exceed hi.
func ClampRetryAfter(d, lo, hi time.Duration) time.Duration {
	return min(max(d, lo), hi)
}

// ErrInvalidSchedule is matched by every ParseSchedule error.
var ErrInvalidSchedule = errors.New("invalid schedule")

// MaxScheduleAttempts bounds a parsed schedule.
const MaxScheduleAttempts = 100

// Schedule is the delay before each attempt: s[0] before the first, s[n] before attempt n+1.
// len(s) is the number of attempts.
type Schedule []time.Duration

// ParseSchedule reads a comma-separated list of Go durations, "0s,100ms,200ms", so that
// configuration (and tests) can change the pace. Delays must not be negative.
func ParseSchedule(s string) (Schedule, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidSchedule)
	}
	fields := strings.Split(s, ",")
	if len(fields) > MaxScheduleAttempts {
		return nil, fmt.Errorf("%w: %d steps; at most %d", ErrInvalidSchedule, len(fields), MaxScheduleAttempts)
	}
	sched := make(Schedule, len(fields))
	for i, f := range fields {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%w: step %d: %w", ErrInvalidSchedule, i+1, err)
		}
		if d < 0 {
			return nil, fmt.Errorf("%w: step %d: negative delay %s", ErrInvalidSchedule, i+1, d)
		}
		sched[i] = d
	}
	return sched, nil
}

// String writes the schedule in the form ParseSchedule reads.
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// Attempts is the number of attempts the schedule allows.
func (s Schedule) Attempts() int { return len(s) }

// Span is how long the schedule waits in all, before jitter.
func (s Schedule) Span() time.Duration {
	var total time.Duration
	for _, d := range s {
		total += d
	}
	return total
}

// Delay is the wait before the next attempt once attempt attempts were made, with ±20 %
// jitter so that deliveries failed together do not return together. rnd returns values in
// [0, 1) (math/rand/v2's Float64 when nil; tests pass a fixed one). ok is false when the
// schedule is exhausted.
func (s Schedule) Delay(attempt int, rnd func() float64) (d time.Duration, ok bool) {
	attempt = max(attempt, 0)
	if attempt >= len(s) {
		return 0, false
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	r := min(max(rnd(), 0), 1)
	return time.Duration(float64(s[attempt]) * (0.8 + 0.4*r)), true
}

// WithMaxAttempts applies a per-target attempt limit: n below the schedule's length cuts it,
// n above repeats its last delay (zero for an empty schedule), n <= 0 keeps it. The result
// never shares memory with s.
func (s Schedule) WithMaxAttempts(n int) Schedule {
	if n <= 0 {
		return append(Schedule(nil), s...)
	}
	out := make(Schedule, n)
	copied := copy(out, s)
	if copied < n && len(s) > 0 {
		last := s[len(s)-1]
		for i := copied; i < n; i++ {
			out[i] = last
		}
	}
	return out
}
