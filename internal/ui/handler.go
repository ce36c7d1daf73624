package ui

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/users"
	"github.com/liaison/liaison/jobs"
)

// Options are what the web UI is built from: the domain services it calls
// (the same ones the API calls) and where people reach it.
type Options struct {
	Users       *users.Service
	Connections *connections.Service
	Tokens      *access.Store
	// Hooks serves the action hooks, event webhooks and delivery log
	// screens; Calls the API calls; Imports and Jobs the imports (Jobs
	// queues a run started from the page and cancels one).
	Hooks   *hooks.Service
	Calls   *calls.Service
	Imports *importer.Store
	Jobs    *jobs.Client
	// Log is where the UI reports what went wrong; default discards.
	Log *slog.Logger
	// PublicURL is PUBLIC_URL: under https the session cookie is Secure.
	PublicURL string
	// Now is the clock of the screens that show relative times; default
	// time.Now.
	Now func() time.Time
}

func (o Options) validate() error {
	if err := invalid.Required("ui", invalid.Need("Users", o.Users != nil), invalid.Need("Connections", o.Connections != nil),
		invalid.Need("Tokens", o.Tokens != nil), invalid.Need("Hooks", o.Hooks != nil), invalid.Need("Calls", o.Calls != nil),
		invalid.Need("Imports", o.Imports != nil), invalid.Need("Jobs", o.Jobs != nil)); err != nil {
		return err
	}
	if o.PublicURL == "" {
		return errors.New("ui: Options.PublicURL is required")
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Handler is the web UI: every screen of routes.go behind cross-origin
// protection.
type Handler struct {
	o         Options
	pages     map[string]*template.Template
	static    staticFiles
	secure    bool
	handler   http.Handler
	protected *http.CrossOriginProtection
}

// New builds the UI's handler.
func New(o Options) (*Handler, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	h := &Handler{o: o, secure: strings.HasPrefix(o.PublicURL, "https://")}
	var err error
	if h.static, err = loadStatic(); err != nil {
		return nil, err
	}
	if h.pages, err = h.parsePages(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for _, rt := range h.routes() {
		mux.Handle(rt.pattern, rt.handler)
	}
	// A state-changing request from another site is refused before any
	// screen sees it (Sec-Fetch-Site, else Origin against Host); the
	// session's form token (csrf.go) is the second lock.
	h.protected = http.NewCrossOriginProtection()
	h.protected.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.forbidden(w, r)
	}))
	h.handler = h.protected.Handler(mux)
	return h, nil
}

// ServeHTTP sets the headers every answer of the UI has, then serves it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	// Links carry one-time tokens in their paths: no other site sees them.
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Content-Security-Policy", contentSecurityPolicy())
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	h.handler.ServeHTTP(w, r)
}

// contentSecurityPolicy is every page's policy; formAction are the
// origins other than this one that its forms may lead to (a Connect form
// is sent on to the provider).
func contentSecurityPolicy(formAction ...string) string {
	return "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action " +
		strings.Join(append([]string{"'self'"}, formAction...), " ") + "; base-uri 'none'"
}

// maxFormBytes bounds a form's body: the UI's forms are small.
const maxFormBytes = 1 << 20
