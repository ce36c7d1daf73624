// Package clocktest is the clock a test hands to code that asks for the
// time: it stands where the test set it and moves only when the test
// moves it, so that expiry, overlaps and lifetimes are tested without
// waiting. It is safe for concurrent use.
//
// # Files
//
//   - clocktest.go: Clock: New, Now and Advance.
package clocktest
