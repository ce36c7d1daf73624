package clocktest

import (
	"sync"
	"time"
)

// Clock is a clock that moves only by Advance.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New is a clock standing at start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now is the time the clock stands at.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
