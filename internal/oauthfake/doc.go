// Package oauthfake is a strict OAuth 2.0 / OpenID provider for tests.
//
// Liaison talks to providers it does not control, and real providers punish
// mistakes that a lenient fake would let pass: a refresh token used twice
// after rotation revokes the whole grant, a code tried with the wrong client
// authentication method is burnt, a redirect_uri that differs by a slash is
// refused. This fake does the same, so a test against it fails where
// production would fail.
//
// New starts a provider on an httptest server (NewTLS on an HTTPS one) for
// one client, described by Options. It serves:
//
//   - GET /.well-known/openid-configuration and
//     GET /.well-known/oauth-authorization-server (RFC 8414);
//   - GET /authorize: the user approves at once (or denies, after DenyNext)
//     and the browser is sent back to the redirect URI; Visit plays that
//     browser. With Options.ConsentPage the checked request shows a page
//     instead ("Liaison wants access to: scopes") whose Allow and Deny
//     buttons POST /consent: Allow issues the code, Deny sends
//     access_denied back;
//   - POST /token: authorization_code, refresh_token and client_credentials;
//   - POST /revoke (RFC 7009);
//   - any method on /api/...: a protected resource that takes a live access
//     token; /api/me answers who the token belongs to, every other path
//     echoes the request back as JSON.
//
// Every mistake a client makes is answered the way the RFCs say and is also
// written down as a violation, and a violation fails the test when it ends:
// a test that drives Liaison through a flow need not remember to check. A
// test that makes mistakes on purpose calls ExpectViolations and checks
// Violations itself. Answers the test itself caused (FailNextToken,
// RevokeAll, DenyNext, an access token that ExpireAll made stale) are not
// violations.
//
// The provider keeps all state behind one mutex and in this process; worker
// processes started by a test reach it over HTTP like any other client, which
// is what makes "exactly one refresh across all processes" observable:
// TokenRequestsByGrant("refresh_token") counts what arrived, and with
// RotateRefreshTokens a second refresh with the same token is a reuse that
// revokes the grant (GrantRevoked) and lands in Violations.
//
// # Files
//
//   - provider.go: Options, New, the discovery document, violations and
//     the counters tests read.
//   - authorize.go: the authorization endpoint (RFC 6749 §4.1, PKCE).
//   - consent.go: the consent page and its answer (Options.ConsentPage).
//   - token.go: the token and revocation endpoints: client
//     authentication, the grants, rotation and reuse detection.
//   - resource.go: the protected resource (/api/me, Echo, Serve).
package oauthfake
