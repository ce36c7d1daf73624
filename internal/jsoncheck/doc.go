// Package jsoncheck reads JSON text as PostgreSQL and the other readers of
// Liaison's input will read it, and finds what they would disagree on or
// refuse, naming the place: "profile.tags[0].name".
//
// encoding/json decodes a lone UTF-16 surrogate escape ("\ud800") as U+FFFD,
// keeps the last of two equal keys, and copies a json.RawMessage byte for
// byte, invalid UTF-8 included; by the time a decoded value is looked at,
// none of that can be seen any more. PostgreSQL's jsonb refuses lone
// surrogates and \u0000, blows a number written 1e131071 up to 131,072
// characters and refuses one past numeric's range; its text refuses bytes
// that are not UTF-8. So Liaison checks the text itself, once, with this
// package: every request body in internal/api (decodeJSON), the events'
// profile and data in hooks before they are stored, and the JSON that
// hooks keeps from a remote answer. Rules say which checks a piece of text
// gets: all of them for what goes into a jsonb column (JSONB), fewer for
// JSON that is kept as text and sent as written (Text).
//
// # Files
//
//   - jsoncheck.go: Rules and Options, Check and Find, and Flaw with the Path
//     it stands at.
package jsoncheck
