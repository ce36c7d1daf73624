// Package access owns Liaison's access tokens: its own "private
// integrations", static bearer tokens made for one integration, each with
// chosen scopes, the way HighLevel and CrocoClick describe theirs.
//
// A secret is shown once, when it is issued; only its SHA-256 is stored (a
// fast hash suits 256-bit random secrets, which no one can guess or brute
// force) with a masked hint for lists. Secrets look like
// "lsn_<43 base62 characters><6 base62 characters of CRC-32>": the prefix
// lets secret scanners find leaked ones, and the checksum lets Liaison (and
// scanners) reject a mistyped or made-up secret without a database look-up.
//
// Rotation follows the reference products: "rotate and expire later" issues
// a new secret and keeps the previous one working for an overlap (7 days by
// default); during it the rotation can be cancelled (the new secret stops,
// the previous is primary again) or the previous secret expired at once.
// "Rotate and expire now" is for a leaked secret: the old one stops at once.
//
// last_used_at is written at most once a minute per secret, so checking a
// token costs one indexed read and, nearly always, no write. During an
// overlap the previous secret's last use is kept apart
// (Rotation.PreviousLastUsedAt), so that a person sees whether every
// caller has moved before expiring it.
//
// # Files
//
//   - token.go: the scopes, Token and Input with their validation, Options
//     and New, and the Store: create, read, list, update, delete, rotate,
//     cancel or expire a rotation, Authenticate, and WellFormed, the shape
//     and checksum of a secret.
//   - grant.go: Maker, the rule that a token never grants more than its
//     maker may (TokenMaker through the API, PersonMaker in the web UI).
//   - creator.go: who made a token: ByUser, ByToken and ByCommandLine
//     for Create's createdBy, and Token.Creator, the same in words.
package access
