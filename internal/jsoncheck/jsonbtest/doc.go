// Package jsonbtest re-states, for tests, what PostgreSQL's jsonb takes
// as input, written apart from jsoncheck (on encoding/json's tokens and a
// regular expression, not a scanner of its own) so that tests and fuzz
// targets can hold jsoncheck and its users to it.
//
// # Files
//
//   - jsonbtest.go: Storable, nil when PostgreSQL's jsonb would take a
//     document, and DuplicateKey, the first key given twice in an object.
package jsonbtest
