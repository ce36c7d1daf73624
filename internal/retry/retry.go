package retry

import (
	"errors"
	"time"
)

// Later says the work cannot be done now and should run again After.
// Without Err it is a postponement, which counts as no failure; with Err
// it is a retry after that failure, which does (doc.go).
type Later struct {
	// After is the wait before the next run; zero is at once, or, from a
	// sender, "whenever the one who waits looks again".
	After time.Duration
	// Reason says why the work waits, for people; it may be empty.
	Reason string
	// Err is the failure the work is retried after; nil for a postponement.
	Err error
}

func (e *Later) Error() string {
	msg := "postponed for " + e.After.String()
	if e.Err != nil {
		msg = "failed; again in " + e.After.String()
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap gives Err.
func (e *Later) Unwrap() error { return e.Err }

// ErrNever marks an error that running the work again cannot fix:
// errors.Is(err, ErrNever) decides. Wrap an error with Never, or give an
// error type an Is method that matches it.
var ErrNever = errors.New("running again cannot help")

// Never marks err as one that running the work again cannot fix. Its text
// is err's alone; nil stays nil.
func Never(err error) error {
	if err == nil {
		return nil
	}
	return &never{err}
}

type never struct{ err error }

func (e *never) Error() string        { return e.err.Error() }
func (e *never) Unwrap() error        { return e.err }
func (e *never) Is(target error) bool { return target == ErrNever }
