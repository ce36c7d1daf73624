package ui

import (
	"testing"
	"time"
)

func TestTimeLeftSaysDaysAndHoursThenMinutes(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7*24*time.Hour - time.Second: "6 days 23 hours",
		7 * 24 * time.Hour:           "7 days",
		25 * time.Hour:               "1 day 1 hour",
		5*time.Hour + 12*time.Minute: "5 hours 12 minutes",
		2 * time.Hour:                "2 hours",
		90 * time.Second:             "1 minute",
		30 * time.Second:             "less than a minute",
		-time.Second:                 "less than a minute",
	} {
		if got := timeLeft(d); got != want {
			t.Errorf("timeLeft(%v) = %q; want %q", d, got, want)
		}
	}
}
