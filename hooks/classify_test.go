package hooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks/send"
	"github.com/liaison/liaison/internal/retry"
)

func TestClassify(t *testing.T) {
	t.Parallel()

	// want holds the outcome for a hook, a webhook endpoint and an API-call node.
	tests := []struct {
		status int
		want   [3]send.Outcome
	}{
		{200, [3]send.Outcome{send.Succeeded, send.Succeeded, send.Succeeded}},
		{201, [3]send.Outcome{send.Succeeded, send.Succeeded, send.Succeeded}},
		{204, [3]send.Outcome{send.Succeeded, send.Succeeded, send.Succeeded}},
		{299, [3]send.Outcome{send.Succeeded, send.Succeeded, send.Succeeded}},
		{301, [3]send.Outcome{send.Retry, send.Retry, send.Retry}},
		{302, [3]send.Outcome{send.Retry, send.Retry, send.Retry}},
		{304, [3]send.Outcome{send.Retry, send.Retry, send.Retry}},
		{400, [3]send.Outcome{send.Fail, send.Fail, send.Fail}},
		{401, [3]send.Outcome{send.Fail, send.Fail, send.Fail}},
		{403, [3]send.Outcome{send.Fail, send.Fail, send.Fail}},
		{404, [3]send.Outcome{send.Fail, send.Fail, send.Fail}},
		{408, [3]send.Outcome{send.Retry, send.Retry, send.Retry}},
		{409, [3]send.Outcome{send.Fail, send.Fail, send.Fail}},
		{410, [3]send.Outcome{send.Fail, send.Disable, send.Fail}},
		{413, [3]send.Outcome{send.Fail, send.Fail, send.Fail}},
		{422, [3]send.Outcome{send.Fail, send.Fail, send.Fail}},
		{425, [3]send.Outcome{send.Retry, send.Retry, send.Retry}},
		{429, [3]send.Outcome{send.Retry, send.Retry, send.Retry}},
		{500, [3]send.Outcome{send.Retry, send.Retry, send.Retry}},
		{502, [3]send.Outcome{send.Retry, send.Retry, send.Retry}},
		{503, [3]send.Outcome{send.Retry, send.Retry, send.Retry}},
		{504, [3]send.Outcome{send.Retry, send.Retry, send.Retry}},
		{599, [3]send.Outcome{send.Retry, send.Retry, send.Retry}},
		{100, [3]send.Outcome{send.Retry, send.Retry, send.Retry}},
		{999, [3]send.Outcome{send.Retry, send.Retry, send.Retry}},
	}
	kinds := [3]send.TargetKind{send.TargetHook, send.TargetWebhook, send.TargetCall}
	for _, tt := range tests {
		for i, kind := range kinds {
			require.Equal(t, tt.want[i], send.Classify(tt.status, nil, kind, false), "%d for %s", tt.status, kind)
		}
	}
}

func TestClassifyRetry4xx(t *testing.T) {
	t.Parallel()

	require.Equal(t, send.Retry, send.Classify(400, nil, send.TargetHook, true))
	require.Equal(t, send.Retry, send.Classify(404, nil, send.TargetCall, true))
	require.Equal(t, send.Fail, send.Classify(410, nil, send.TargetHook, true), "410 Gone stays final")
	require.Equal(t, send.Disable, send.Classify(410, nil, send.TargetWebhook, true))
	require.Equal(t, send.Succeeded, send.Classify(200, nil, send.TargetHook, true))
}

func TestClassifyErrors(t *testing.T) {
	t.Parallel()

	timeout := fmt.Errorf("posting: %w", context.DeadlineExceeded)
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, err := range []error{timeout, refused, errors.New("EOF")} {
		for _, kind := range []send.TargetKind{send.TargetHook, send.TargetWebhook, send.TargetCall} {
			require.Equal(t, send.Retry, send.Classify(0, err, kind, false), "%v for %s", err, kind)
		}
	}

	blocked := fmt.Errorf("dialing 10.0.0.1: %w", retry.ErrNever)
	require.Equal(t, send.Fail, send.Classify(0, blocked, send.TargetWebhook, false))
	require.Equal(t, send.Fail, send.Classify(0, blocked, send.TargetHook, true))

	// The receiver answered; losing the rest of its body does not undo that.
	require.Equal(t, send.Succeeded, send.Classify(200, errors.New("reading body: unexpected EOF"), send.TargetHook, false))
	require.Equal(t, send.Retry, send.Classify(0, nil, send.TargetHook, false), "no response and no error is not a success")
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()

	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"Sat, 01 Mar 2025 12:01:30 GMT", 90 * time.Second, true},
		{"Saturday, 01-Mar-25 12:00:10 GMT", 10 * time.Second, true},
		{"Sat Mar  1 12:00:05 2025", 5 * time.Second, true},
		{"Sat, 01 Mar 2025 11:00:00 GMT", 0, true},
		{"99999999999999999999", time.Duration(1<<63 - 1), true},
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := send.ParseRetryAfter(tt.in, now)
		require.Equal(t, tt.wantOK, ok, "%q", tt.in)
		require.Equal(t, tt.want, got, "%q", tt.in)
	}
}

func TestClampRetryAfter(t *testing.T) {
	t.Parallel()

	lo, hi := time.Second, time.Hour
	require.Equal(t, time.Second, send.ClampRetryAfter(0, lo, hi))
	require.Equal(t, time.Minute, send.ClampRetryAfter(time.Minute, lo, hi))
	require.Equal(t, time.Hour, send.ClampRetryAfter(48*time.Hour, lo, hi))

	// Parsed and clamped together, as a worker does.
	d, ok := send.ParseRetryAfter("86400", time.Now())
	require.True(t, ok)
	require.Equal(t, time.Hour, send.ClampRetryAfter(d, lo, hi))
}

func TestScheduleDelay(t *testing.T) {
	t.Parallel()

	mid := func() float64 { return 0.5 }
	require.Equal(t, 10, DefaultSchedule().Attempts())
	for attempt, want := range DefaultSchedule() {
		got, ok := DefaultSchedule().Delay(attempt, mid)
		require.True(t, ok)
		require.Equal(t, want, got, "attempt %d", attempt)
	}
	_, ok := DefaultSchedule().Delay(10, mid)
	require.False(t, ok, "ten attempts made: exhausted")

	d, ok := DefaultSchedule().Delay(0, nil)
	require.True(t, ok)
	require.Zero(t, d, "the first attempt goes at once")
	d, _ = DefaultSchedule().Delay(1, mid)
	require.Equal(t, 5*time.Second, d)
}

func TestScheduleJitter(t *testing.T) {
	t.Parallel()

	lowest := func() float64 { return 0 }
	highest := func() float64 { return 0.999999 }
	d, _ := DefaultSchedule().Delay(4, lowest)
	require.Equal(t, 96*time.Minute, d, "2 h - 20 %")
	d, _ = DefaultSchedule().Delay(4, highest)
	require.InDelta(t, float64(144*time.Minute), float64(d), float64(time.Second), "2 h + 20 %")

	for range 1000 {
		for attempt, base := range DefaultSchedule() {
			d, ok := DefaultSchedule().Delay(attempt, nil)
			require.True(t, ok)
			require.GreaterOrEqual(t, d, base*8/10)
			require.LessOrEqual(t, d, base*12/10)
		}
	}

	wild := func() float64 { return 7 }
	d, _ = DefaultSchedule().Delay(1, wild)
	require.Equal(t, 6*time.Second, d, "a bad random source cannot exceed +20 %")
}

func TestWithMaxAttempts(t *testing.T) {
	t.Parallel()

	s := send.Schedule{0, time.Second, time.Minute}
	require.Equal(t, send.Schedule{0, time.Second}, s.WithMaxAttempts(2))
	require.Equal(t, send.Schedule{0, time.Second, time.Minute, time.Minute, time.Minute}, s.WithMaxAttempts(5))
	require.Equal(t, s, s.WithMaxAttempts(0))
	require.Equal(t, send.Schedule{0, 0}, send.Schedule{}.WithMaxAttempts(2))

	cut := s.WithMaxAttempts(2)
	cut[0] = time.Hour
	require.Zero(t, s[0], "the result does not share memory")

	long := DefaultSchedule().WithMaxAttempts(12)
	_, ok := long.Delay(11, nil)
	require.True(t, ok)
	_, ok = long.Delay(12, nil)
	require.False(t, ok)
}

func TestParseSchedule(t *testing.T) {
	t.Parallel()

	s, err := send.ParseSchedule("0s, 100ms,200ms ,1h30m")
	require.NoError(t, err)
	require.Equal(t, send.Schedule{0, 100 * time.Millisecond, 200 * time.Millisecond, 90 * time.Minute}, s)
	require.Equal(t, "0s,100ms,200ms,1h30m0s", s.String())

	back, err := send.ParseSchedule(DefaultSchedule().String())
	require.NoError(t, err)
	require.Equal(t, DefaultSchedule(), back)

	for in, want := range map[string]string{
		"":              "invalid schedule: empty",
		"0s,,1s":        `invalid schedule: step 2: time: invalid duration ""`,
		"0s,5":          `invalid schedule: step 2: time: missing unit in duration "5"`,
		"0s,soon":       `invalid schedule: step 2: time: invalid duration "soon"`,
		"0s,-1s":        "invalid schedule: step 2: negative delay -1s",
		"1s" + rep(100): "invalid schedule: 101 steps; at most 100",
	} {
		_, err := send.ParseSchedule(in)
		require.ErrorIs(t, err, send.ErrInvalidSchedule, in)
		require.EqualError(t, err, want, in)
	}
}

func rep(n int) string {
	s := ""
	for range n {
		s += ",1s"
	}
	return s
}

func TestKindAndOutcomeNames(t *testing.T) {
	t.Parallel()

	require.Equal(t, "webhook", send.TargetWebhook.String())
	require.Equal(t, "disable", send.Disable.String())
	require.Equal(t, "Outcome(0)", send.Outcome(0).String())
}

func TestScheduleSpan(t *testing.T) {
	t.Parallel()
	require.Equal(t, 75*time.Hour+35*time.Minute+5*time.Second, DefaultSchedule().Span())
	require.Zero(t, send.Schedule(nil).Span())
}
