// Package id makes Liaison's resource ids: a short prefix naming the kind
// ("tok", "conn", "imp"), then base62 of the creation time in milliseconds
// and 64 random bits. Ids sort by creation time, so cursor pages come
// oldest first, and they are safe in URLs and file names. The ids of the
// hooks package and request ids have another shape, kept because the API
// shows it (NewHex): a prefix, then 96 random bits in hex.
//
// # Files
//
//   - id.go: New, NewHex, and Base62 and IsBase62.
package id
