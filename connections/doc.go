// Package connections owns connections: how Liaison is allowed to talk to
// another service. A connection is an OAuth2 authorization-code or
// client-credentials grant, a static bearer token or an API key, bound to a
// base URL and a list of allowed hosts.
//
// The package keeps connections and their store, runs the OAuth2 flows,
// owns the token lifecycle (refresh before expiry, once per expiry across
// every process), seals secrets at rest, and builds the one outbound HTTP
// client that every request leaving Liaison goes through. That client is
// guarded at dial time against private and internal addresses (guard.go):
// after DNS resolution, so a public name that resolves to 169.254.169.254 is
// refused as surely as the address itself.
//
// # Files
//
//   - connection.go: the model, the input (every field a pointer, so an edit
//     changes only what it names), validation with invalid.Error naming each
//     field, and the masked View that answers show.
//   - store.go: queries. Secrets (client secret, static token, API key,
//     access and refresh tokens, and the fixed headers as one set) are
//     sealed with the key ring, bound to "connection:<id>:<column>";
//     SealStoredHeaders seals headers stored before they were sealed.
//     StoreEvents keeps Liaison's own events.
//   - oauth.go: discovery (OpenID and RFC 8414), the authorization URL with
//     state and PKCE S256, the callback (Complete), revocation (RFC 7009).
//   - token.go: the token lifecycle and its once-per-expiry refresh.
//   - client.go: Do, the outbound client.
//   - manage.go: create, edit, list, delete, test and refresh on demand.
//   - pause.go: Pause and Resume, PausedError (a *retry.Later, errors.Is
//     ErrPaused) and the events connection.paused and connection.resumed.
//   - use.go: last use (written at most once a minute) and the refresh
//     history (the latest 20 attempts per connection), Refreshes.
//   - sweep.go: the periodic refresh of tokens about to expire.
//   - limits.go: Limits, the rate and concurrency limits set on a connection
//     (rate_limit, max_concurrency), which the API-call engine in hooks
//     enforces across every worker.
//   - service.go: Options, their defaults and validation, and New.
//   - guard.go: the dial-time guard and its checks of numeric hosts;
//     guard_ranges.go: the one table of what it refuses, generated from the
//     IANA special-purpose address registries.
//
// # Sending: Do
//
// Other packages (hooks, importer) declare the method set they need and
// get a *Service:
//
//	type Sender interface {
//		Do(ctx context.Context, connectionID string, req *http.Request) (*http.Response, error)
//	}
//
// Do resolves a relative req.URL against base_url (appended to its path),
// refuses any host outside base_url's host and allowed_hosts before
// sending, adds the credentials, fixed headers and User-Agent, and on a 401
// to an OAuth token refreshes once and resends once if the body can be
// replayed (set req.GetBody, as http.NewRequest does for bytes and strings
// readers). connectionID "" sends to a public URL with no credentials,
// through the same guard. The caller's request is never modified.
//
// # Errors, for callers that do not import this package
//
// Classify with the vocabulary of internal/retry:
//
//   - a *retry.Later (errors.As; a *ReauthError, also errors.Is
//     ErrNeedsReauth): the connection needs a person to reconnect it.
//     Postpone the work — do not fail it and do not spend an attempt —
//     and resume when the connection is connected again (the event
//     connection.connected is recorded when it leaves needs_reauth;
//     connection.needs_reauth was recorded when it entered it).
//     Or a *PausedError (errors.Is ErrPaused): a person paused the
//     connection; the same postponement, until connection.resumed. The
//     Later's Reason says which, in words for people.
//   - errors.Is(err, retry.ErrNever) (a *RefusedError): refused before
//     anything was sent (host not allowed, blocked address, bad scheme,
//     unknown connection). Retrying cannot help.
//   - anything else: a network error, a timeout, or ErrTokenEndpoint (the
//     token endpoint kept failing with timeouts or 5xx; nothing changed):
//     retry on the usual schedule.
//
// # Once per expiry
//
// An in-process singleflight (per connection and token version) sits in
// front of a Redis lock per connection (SET NX PX with a random value,
// released by a compare-and-delete script). The holder re-reads the stored
// token and refreshes only if it is still the stale version; the new
// access token, a rotated refresh token (or the old one when none came
// back) and the expiry are stored in one UPDATE guarded by that version.
// Waiters poll the lock with backoff, then re-read the database. The lock
// outlives the whole refresh (every retry included), so no second process
// can send the same refresh token while the first still waits: with
// providers that revoke the grant on a refresh-token reuse, a double
// refresh would break the connection for good.
//
// A client_credentials request is retried with backoff
// (sethvargo/go-retry) on any failure that may pass (network errors,
// timeouts, 5xx, 429). A refresh_token request is sent again only when it
// certainly did not reach the provider (a dial or DNS error) or the
// provider said it did not act on it (408, 429, 503): after a timeout, a
// broken connection or another 5xx the provider may have rotated the
// refresh token already, and a resend would be the reuse that revokes the
// grant. Such a refresh is left unknown: the connection stays connected
// with the error in last_error, processes waiting for the lock do not
// resend it (a short-lived Redis note says the holder got nothing back),
// and the next use reads the stored token again and tries once more. A
// refusal (invalid_grant, invalid_client, a revoked grant) or a static
// credential answered with 401 moves the connection to needs_reauth with
// the provider's words in last_error, drops the dead tokens and records
// connection.needs_reauth through the EventRecorder.
//
// # Events
//
// connection.paused and connection.resumed are recorded when a person
// pauses or resumes a connection (once per change); resumed, like
// connected, wakes the work that waited.
//
// connection.needs_reauth is recorded when a connection enters
// needs_reauth; connection.connected when it becomes connected from pending
// or needs_reauth (a completed authorization, a new static token or API
// key, a first client-credentials token), which the delivery engine takes
// as the signal to resume the work that waited for it. Each is recorded by
// the one write that changes the state.
//
// EventRecorder is declared here and implemented by whoever delivers
// Liaison's own events: internal/app hands them to the delivery engine;
// StoreEvents, which writes each event into the system_events table (id,
// type, occurred_at, data), serves tests and tools.
package connections
