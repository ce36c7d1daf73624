// Package apptest is the test bundle of the stories that prove Liaison end
// to end: the whole application opened through internal/app, as the binary
// opens it, on a database (internal/db/dbtest) and a Redis
// (internal/redistest) of the test's own, served by an httptest server over
// the app's API handler, with an access token for the area under test; and
// strict fakes for the outside world the application talks to.
//
// It is imported by external test packages only (hooks_test, calls_test,
// api_test); no package of Liaison's imports it, and internal/api's own
// internal tests cannot (apptest imports internal/api).
//
// # Files
//
//   - bundle.go: Bundle and Setup (database, Redis, API server, stores),
//     Token, Do; OpenApp and StartApp, the whole application with or
//     without a worker; Tuned, WorkerOptions, Loopback, NewRing.
//   - web.go: WebBundle (SetupWeb), the web process's one handler (API
//     and web UI) on a server whose URL is PUBLIC_URL.
//   - deliveries.go: DeliveryBundle (SetupDeliveries, SetupDeliveriesWith),
//     the delivery engine with a worker and the retry Schedule scaled to
//     milliseconds; Call, WaitDelivery, Event.
//   - calls.go: CallBundle (SetupCalls, SetupCallsWith), the API-call path
//     with the OAuth redirect URI on its own server; Req, BearerConnection,
//     OAuthConnection, Connect, WaitCall; AttemptsOf, FieldsOf.
//   - receiver.go: Receiver, an endpoint that records every request, and
//     its answers: AnswerWith, AnswerStatuses, RefusedUntilAllowed,
//     SlowReceiver.
//   - signature.go: VerifyByHand and VerifyByReference, Standard Webhooks
//     signatures checked without Liaison's own code.
//   - oauth.go: the tests' OAuth client (ClientID, ClientSecret), Provider
//     (internal/oauthfake) and Callback, the browser's way back.
//   - logs.go: LockedWriter, the log that concurrent handlers write to.
package apptest
