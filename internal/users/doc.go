// Package users is the people who sign in to the web UI, their sessions
// and the one-time links that let them in (issue 15, point 1). It knows
// nothing about HTTP: the web UI asks it who a cookie belongs to and
// turns its errors into pages; `liaison users create` uses it from the
// command line. A session never authenticates the API (/v1), which keeps
// its access tokens (internal/access).
//
// # Users
//
// A user has an email (trimmed and lower-case, unique), a password, a role
// (admin or member) and the right to manage private integrations, on for
// admins and off for members unless said otherwise, switchable per user.
// Passwords are hashed with bcrypt (golang.org/x/crypto/bcrypt) at
// Options.BcryptCost: it is self-describing (cost and salt in the hash),
// needs no memory to tune on a small machine, and a password's 72-byte
// limit is refused plainly rather than cut (MinPasswordLength characters
// at least). The last enabled admin can be neither demoted nor disabled;
// the checks that read several rows lock the users table on PostgreSQL
// (SQLite's transactions hold the write lock already).
//
// # Sign-in and throttling
//
// SignIn compares the password with bcrypt; an unknown email, or an
// invited user who has no password yet, is compared against a dummy hash
// of the same cost, so that how long sign-in takes does not tell who
// exists. Failures are counted in the database (sign_in_failures), so that
// every web process sees them, under two keys: the address the attempt
// comes from and the account (the normalised email, whether or not a user
// has it). A window starts with a key's first failure and lasts
// Options.ThrottleWindow (DefaultThrottleWindow, 15 minutes). From the
// Options.ThrottleFailures'th failure (DefaultThrottleFailures, 5) in a
// window on, the key must wait Options.ThrottleWait (a minute), doubled at
// every further failure up to Options.ThrottleMaxWait (an hour); the
// window stays open for ThrottleWindow past the end of each wait, so that
// guessing on does not start afresh. While a key waits, SignIn returns a
// *ThrottledError with the time left (the longest of the two keys)
// without even checking the password, so a wait cannot be used to guess.
// A success clears the account's count, not the address's: one good
// account must not clear the way for guessing at others. An attempt
// without an address (the UI always has one) counts for the account
// alone.
//
// # Sessions
//
// SignIn always starts a new session (rotation: a cookie from before the
// sign-in is never promoted; the UI ends the one it was sent, if any, with
// SignOut). The cookie is "<id>.<secret>", the secret 32 random bytes in
// base64url; only its SHA-256 is stored, compared in constant time. A
// session ends when idle for Options.SessionIdle (DefaultSessionIdle), at
// Options.SessionLifetime after it began whatever happens
// (DefaultSessionLifetime), at SignOut, and at once when its user is
// disabled or given a new password (its rows are deleted; Authenticate
// also refuses a disabled user). Authenticate slides LastSeenAt, writing it
// at most once a minute. The session's form token (Session.CSRF) is
// HMAC-SHA256(secret, "csrf"): it needs the cookie, and no row holds it.
//
// # One-time links
//
// Setup (the first admin), invitation and reset links carry a random
// token of which only the SHA-256 is stored. Redeem marks a link used in
// the very statement that checks it is unused and unexpired, so of two
// redeeming at once one wins. A setup link is made only while no user
// exists, and its redemption creates the first admin only if there is
// still none, in one transaction. A link of a disabled user is refused.
//
// Sweep deletes ended sessions, expired or long-used links and closed
// failure windows; nothing depends on it but the tables' size. The UI serves setup links at
// /setup/<token> and invitations at /invite/<token>.
//
// # Files
//
//   - service.go: Options and their defaults, New, Sweep.
//   - users.go: User, Input, Change; Create, Get, List, Count, Update,
//     SetPassword, and what a valid email, password and role are.
//   - session.go: Session; SignIn, StartSession, Authenticate, SignOut.
//   - throttle.go: counting failed sign-ins per address and per account.
//   - link.go: one-time links: SetupLink, Invite, ResetLink, Link, Redeem.
package users
