package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/liaison/liaison/internal/users"
)

//go:embed templates
var templateFiles embed.FS

// flashes are the banners a screen can ask for after a redirect, by key:
// ?done=<key>. The text is always this fixed text: nothing from the URL is
// ever shown.
var flashes = map[string]string{
	"signed-out":   "You are signed out.",
	"password-set": "Your password is set.",
	// Users (users.go, user.go).
	"user-created":  "The user is created. They can sign in with the password you set.",
	"user-saved":    "Saved.",
	"user-disabled": "The user is disabled and signed out everywhere.",
	"user-enabled":  "The user is enabled and can sign in again.",
	// Private integrations.
	"integration-saved":    "The integration is saved. Its token has not changed and keeps working.",
	"integration-deleted":  "The integration is deleted. Its token no longer works.",
	"rotation-cancelled":   "The rotation is cancelled: the new token no longer works, and the old one is the only one again.",
	"rotation-expired":     "The old token has stopped working: the new one is the only one now.",
	"rotation-in-progress": "A rotation is already in progress: cancel it or expire the old token before you rotate again.",
	"no-rotation":          "There is no rotation in progress any more.",

	"connection-created":             "The connection is saved.",
	"connection-saved":               "Your changes are saved.",
	"connection-saved-reconnect":     "Your changes are saved. They change what Liaison was allowed, so the old token is dropped: click Reconnect to allow access again.",
	"connection-refreshed":           "The token was refreshed.",
	"connection-paused":              "Paused: nothing goes through this connection until you resume it.",
	"connection-resumed":             "Resumed: what waited goes through the connection again.",
	"connection-deleted":             "The connection is deleted.",
	"connection-deleted-revoked":     "The connection is deleted, and the other service revoked its tokens.",
	"connection-deleted-not-revoked": "The connection is deleted, but the other service did not confirm revoking its tokens: remove Liaison's access in that service's settings to be sure.",

	// Action hooks.

	// Event webhooks.

	// The delivery log.

	// Imports.
}

// page is what the layout shows around every screen: the signed-in
// person (nil on public screens), the form token for its forms, a banner,
// and the screen's own data.
type page struct {
	// Title is the page's title, in <title> and the <main>'s <h1>.
	Title string
	User  *users.User
	CSRF  string
	Flash string
	// Path is the request's path, for the navigation's current item.
	Path string
	// Data is the screen's own: what its template reads as .Data.
	Data any
}

// parsePages parses each screen's template with the layout: one template
// set per screen, named after its file (templates/signin.html is
// "signin"). A screen defines "content"; the layout shows the rest.
func (h *Handler) parsePages() (map[string]*template.Template, error) {
	screens, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"field": field, "static": h.static.url, "ago": h.ago, "until": h.until, "at": at, "secretField": secretField, "rows": rowsField, "hasPrefix": strings.HasPrefix,
		"minPassword": func() int { return users.MinPasswordLength }, "capital": capital}
	out := map[string]*template.Template{}
	for _, file := range screens {
		name := strings.TrimSuffix(path.Base(file), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", file)
		if err != nil {
			return nil, fmt.Errorf("ui: parsing %s: %w", file, err)
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("ui: %s defines no \"content\"", file)
		}
		out[name] = t
	}
	return out, nil
}

// render shows a screen with 200 OK: see renderStatus.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, screen, title string, data any) {
	h.renderStatus(w, r, http.StatusOK, screen, title, data)
}

// renderStatus shows the screen's template (templates/<screen>.html) in
// the layout with the given status, the signed-in person and form token
// taken from r and the banner from ?done=.
func (h *Handler) renderStatus(w http.ResponseWriter, r *http.Request, status int, screen, title string, data any) {
	t, ok := h.pages[screen]
	if !ok {
		h.serverError(w, r, fmt.Errorf("ui: no screen %q", screen))
		return
	}
	p := page{Title: title, Path: r.URL.Path, Data: data, Flash: flashes[r.URL.Query().Get("done")]}
	if s, ok := current(r); ok {
		p.User, p.CSRF = &s.User, s.Session.CSRF
	}
	var buf bytes.Buffer
	var err error
	if part := r.URL.Query().Get("live"); part != "" && status == http.StatusOK {
		// A live part (app.js, data-live): only the template "live NAME"
		// of the screen, the element that replaces itself on the page.
		if t.Lookup("live "+part) == nil {
			h.notFound(w, r)
			return
		}
		err = t.ExecuteTemplate(&buf, "live "+part, p)
	} else {
		err = t.Execute(&buf, p)
	}
	if err != nil {
		h.o.Log.ErrorContext(r.Context(), "rendering a page", "screen", screen, "error", err)
		http.Error(w, "Something went wrong on our side while showing this page. Try again in a moment.", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// capital is s with its first letter upper-case: a domain message that
// starts a sentence on the page ("the connection needs…" → "The connection needs…").
func capital(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
