// Package secret seals secrets at rest: client secrets, OAuth tokens, static
// tokens, webhook signing secrets, and the headers given to connections,
// action hooks and API calls.
//
// A Ring holds the keys from SECRET_KEYS, newest first. Seal always uses the
// newest key and writes that key's id into the sealed value, so Open still
// finds the right key after a new one has been put in front: rotating keys is
// adding a key at the front and keeping the old ones until every value has
// been sealed again. The cipher is AES-256-GCM with a fresh random nonce per
// value; the caller passes additional data (for example "connection:ID:token")
// that binds a sealed value to its place, so one row's ciphertext pasted into
// another row does not open.
//
// Sealed values are text: "v1.<key id>.<base64url(nonce|ciphertext|tag)>".
// The key id is the first 8 hex digits of SHA-256 over the key; it names a key
// without revealing anything useful about it.
//
// Mask shortens a secret for display ("5******C"); nothing else of a secret
// is ever shown.
//
// Headers (headers.go) are one rule for connections, hooks and calls: a
// set is sealed as one value (SealHeaders, OpenHeaders), every value is a
// secret unless its name is on the short PlainHeaders list (MaskHeaders),
// an edit that sends a mask back keeps the stored value
// (KeepMaskedHeaders), and SealPlainHeaders seals, once, the rows written
// before headers were sealed.
//
// # Files
//
//   - ring.go: Ring with Seal and Open, NewRing, KeyID, NewKey,
//     LoadOrCreateKeyFile and Mask.
//   - headers.go: the header rule (PlainHeaders, PlainHeader), masking
//     headers for answers, sealing and opening them, and SealPlainHeaders
//     over HeaderTables for headers stored before they were sealed.
package secret
