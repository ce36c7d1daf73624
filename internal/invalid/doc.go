// Package invalid is how domain packages say that input is wrong, field by
// field, without knowing about HTTP: the API answers an *Error as a 422
// problem whose errors name each field, and the command line prints it.
//
// # Files
//
//   - invalid.go: Field, Error with Add and Err, New and As.
//   - options.go: what Options of a constructor check with: Required with
//     Need for the parts, NotNegative with Named for durations and counts.
package invalid
