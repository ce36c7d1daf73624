// Package ui is the marketer web UI (docs/DESIGN.md, "The web UI"):
// server-rendered pages with html/template, a small style sheet and a
// smaller script, all embedded in the binary; no front-end build, no
// framework. It calls the same domain services as the API
// (internal/users, connections, internal/access) and never implements a
// rule of theirs: it turns their errors into pages.
//
// The web process serves one handler (internal/app's App.WebHandler): the
// API's paths (/v1/, /healthz, /readyz, /metrics, /openapi.json,
// /oauth/callback) go to the API, everything else here. The UI reads only
// its session cookie, never an Authorization header; the API reads only
// access tokens, never the cookie.
//
// # Conventions for a new screen
//
// A screen is one handler file (connections.go), one template
// (templates/connections.html) and its lines in routes.go.
//
//   - Routes: routes.go lists every route, one line each, grouped by
//     screen under a comment; add yours there. Each handler is wrapped in
//     what it requires: h.public (anyone; the person is still known when
//     signed in), h.signedIn (else 303 to /signin?next=<path>),
//     h.admin (admins only) or h.integrations (the right
//     ManagesIntegrations); the last two answer the 403 page to others.
//   - Rendering: h.render(w, r, "screen", "Title", data) shows
//     templates/screen.html in the layout; h.renderStatus does the same
//     with a status (422 for a form with errors). The template defines
//     "content" and reads the page: .Title, .User (nil when signed out),
//     .CSRF, .Flash and the screen's own .Data. h.notFound,
//     h.forbidden and h.serverError are the 404, 403 and 500 pages
//     (templates/message.html with a message{Text, LinkText, LinkURL}).
//   - Forms: f := newForm(r, "name", "base_url") reads the named fields;
//     pass the domain's error to f.from(err): an *invalid.Error fills the
//     field errors (a field the form does not show becomes one of
//     f.Problems, shown above the form by {{template "problems" .Data.Form}}),
//     and then render the same screen again with f. f.invalid(name,
//     sentence) sets a check of the UI's own (the repeated password). In
//     the template each input is {{template "field" (field .Data.Form
//     "name" "Name" "text" "")}}: label, input, the error below it in
//     plain words, aria-invalid and aria-describedby. Typed values come
//     back; a password's never does.
//   - Forgery: every form of a signed-in screen has {{template "csrf" .}}
//     (the page is .); h.signedIn refuses a POST whose csrf field is not
//     the session's (users.Session.ValidCSRF) with the 403 page. In
//     front of every route, http.CrossOriginProtection refuses a
//     state-changing request from another site (Sec-Fetch-Site, or
//     Origin against Host). The public forms (sign-in, the links) have no
//     session to hold a token: they rely on that protection and, for the
//     links, on the secret in the URL.
//   - Banners: after a change, redirect with ?done=<key> (303); the key
//     must be in flashes (page.go), whose fixed text the layout shows.
//     Nothing from the URL is ever shown as text.
//   - Copy buttons: <button type="button" data-copy="field-id">Copy</button>
//     copies that field's value and says "Copied" (static/app.js).
//   - Showing a block for a choice: <div data-when="how=password"> shows
//     only while that radio button is chosen (without the script, always).
//     A form with data-role-defaults ticks its "integrations" checkbox
//     when Admin is chosen and unticks it for Member (static/app.js).
//   - Counters: an input with data-counter="counter-id" data-max="200"
//     keeps that element saying "12 / 200" as one types (static/app.js);
//     the server still checks the limit.
//   - A secret shown once: the page (the answer to the POST that issued
//     it) has data-replace-url="/lasting/address"; the script puts that in
//     the address bar, so that reloading shows that page, never the
//     secret again, and does not send the form twice.
//   - Rows: a <fieldset data-rows> of <div data-row> and a button
//     data-add-row: "Add row" adds an empty copy of the last row
//     (static/app.js); without the script the rows shown are sent.
//   - Static files: {{static "style.css"}} is the file's URL with a hash of
//     its content, cached for a year.
//
// # Sessions
//
// The cookie liaison_session holds "<id>.<secret>" (internal/users):
// HttpOnly, SameSite=Lax, Path=/, Secure when PUBLIC_URL is https. It is
// set at sign-in, at setup and when a link is redeemed, each time a new
// session, the browser's old one ended (rotation); sign-out ends it in
// the database and clears it. Every page loads its person with
// users.Authenticate, so a disabled user's session stops at the next
// request. Sign-in failures say only that the email or the password is
// wrong; a throttled sign-in says how many minutes to wait.
//
// # Files
//
//   - handler.go: Options, New, Handler and the headers of every answer.
//   - routes.go: every route, one line each; home.
//   - session.go: the cookie, h.public, h.signedIn, h.admin,
//     h.integrations, nextPath.
//   - csrf.go: the form token check.
//   - page.go: templates, page, h.render, flashes.
//   - form.go: form, field and fieldView.
//   - errors.go: the 404, 403 and 500 pages.
//   - static.go: /static/ with cache headers.
//   - signin.go, signout.go: signing in and out.
//   - setup.go: the first admin's setup link; what the link screens share.
//   - invite.go: invitation and reset links: choosing a password.
//   - users.go: the users list and the invite form (a one-time link shown
//     once, or a password set now); showLink, the page of a link.
//   - user.go: a user's page: role and right, disable and enable, a
//     password reset link. The domain's refusals (the last admin) show
//     under their control in its words.
//   - integrations.go: the private integrations list, the scopes in plain
//     words, the times they show; integration_form.go: the form the
//     create and edit screens share (counters, the scopes checklist);
//     integration_create.go: the two-step create and the token shown once;
//     integration.go: the detail page with a rotation in progress;
//     integration_rotate.go: rotate later or now, cancel or expire a
//     rotation; integration_edit.go: edit and delete.
//   - connections.go: the connections list with its type tabs (?type=,
//     kept in the URL); rowOf, a connection in plain words (type, status
//     badge); the ago, until and at time functions.
//   - connection_new.go: "+ Create": the type in plain words, then its form.
//   - connection_form.go: the connection form of every type (create and
//     edit): the domain's field names, secrets never written back and kept
//     when left empty on an edit, key-value rows (headers, authorization
//     parameters), the domain's errors next to each field or list.
//   - connection.go: a connection's page (status, redirect URI, refreshes,
//     last use, pause) and its buttons: Connect/Reconnect (303 to the
//     provider; the page's form-action allows its origin), Test, Refresh
//     now, Pause, Resume. Coming back from the provider, /oauth/callback
//     (internal/api) lands here with ?connect=ok|failed, and the banner's
//     words come from the connection the domain stored, not the URL.
//   - connection_edit.go: Edit; connection_delete.go: the confirmation and
//     the deletion, whose banner says whether the provider revoked.
//   - templates/: layout.html (with the "field", "csrf" and "problems"
//     templates) and one template per screen; static/: style.css, app.js.
//
// Tests: security_test.go (forgery, rotation, tokens and sessions kept
// apart), screens_test.go and connection_test.go over plain HTTP,
// session_internal_test.go for Options, the cookie and nextPath,
// integration_internal_test.go for the time left of a rotation;
// integrations_test.go (plain HTTP) and integrations_browser_test.go test
// the private integrations; browser_test.go is the chromium harness (one
// browser per test binary, a fresh browser context per test, screenshots
// and HTML of a failure in t.ArtifactDir()), and stories_test.go (setup,
// sign-in, phone widths, the keyboard alone) and
// connection_browser_test.go the stories it drives; users_test.go
// (members refused, the right's default) and users_browser_test.go are
// the Users screens'; secrets_browser_test.go looks for every secret a
// person gave or was given in the pages, the log and every table.
package ui
