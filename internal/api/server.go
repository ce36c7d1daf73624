package api

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/db"
	ids "github.com/liaison/liaison/internal/id"
	"github.com/liaison/liaison/internal/logging"
	"github.com/liaison/liaison/internal/metrics"
	"github.com/liaison/liaison/internal/traceparent"
	"github.com/liaison/liaison/jobs"
)

// Deps is what the API needs; cmd/liaison builds it.
type Deps struct {
	Log    *slog.Logger
	DB     *db.DB
	Redis  *jobs.Redis
	Jobs   *jobs.Client
	Tokens *access.Store
	// Imports serves /v1/imports and /v1/runs.
	Imports *importer.Store
	// MaxBodyBytes limits a request body (MAX_BODY_BYTES). Default
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	Version      string
	// AuthFailureBurst failed authentications are allowed from one address,
	// then one every AuthFailureEvery. Defaults DefaultAuthFailureBurst and
	// DefaultAuthFailureEvery.
	AuthFailureBurst int
	AuthFailureEvery time.Duration

	// Connections serves /v1/connections and the OAuth callback.
	Connections *connections.Service
	// Hooks serves events, action hooks, event webhooks and deliveries.
	Hooks *hooks.Service
	// Calls serves /v1/calls.
	Calls *calls.Service

	// Metrics counts every request and serves GET /metrics. Default: a
	// registry of the server's own.
	Metrics *metrics.Metrics
}

// Server holds the API's dependencies; its methods are the handlers.
type Server struct {
	Deps
	mux          *http.ServeMux
	authFailures *failureLimiter
	openapiCache
}

// New builds the API handler with every route of routes.go.
func New(d Deps) *Server {
	s := newServer(d)
	for _, rt := range s.routes() {
		if rt.Request == nil && strings.HasPrefix(rt.Pattern, http.MethodPost+" ") {
			rt.Handler = s.takesNoFields(rt.Handler)
		}
		s.mux.Handle(rt.Pattern, s.guard(rt))
	}
	return s
}

// takesNoFields guards an action route that takes no fields (/test,
// /secret/rotate, /run, /retry, …): a body that is not JSON, not an
// object, or names a field is refused with a problem saying so, where it
// was once ignored; an empty body, or {}, is fine.
func (s *Server) takesNoFields(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := decodeOptionalJSON(r, &noFields{}); err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r)
	}
}

// NewHealth builds a handler with only /healthz, /readyz and /metrics, for
// the worker and scheduler processes' probes and scrapes.
func NewHealth(d Deps) *Server {
	s := newServer(d)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /metrics", s.metrics)
	return s
}

// Defaults of Deps, applied by New and NewHealth to the fields left zero.
const (
	// DefaultMaxBodyBytes is Deps.MaxBodyBytes (MAX_BODY_BYTES): 1 MiB.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultAuthFailureBurst and DefaultAuthFailureEvery are
	// Deps.AuthFailureBurst and AuthFailureEvery: ten failures, then one
	// every 6 s.
	DefaultAuthFailureBurst = 10
	DefaultAuthFailureEvery = 6 * time.Second
)

// withDefaults fills what is unset. New has no error to return, so a
// negative value counts as unset too (config refuses one).
func (d Deps) withDefaults() Deps {
	d.MaxBodyBytes = cmp.Or(max(d.MaxBodyBytes, 0), DefaultMaxBodyBytes)
	d.AuthFailureBurst = cmp.Or(max(d.AuthFailureBurst, 0), DefaultAuthFailureBurst)
	d.AuthFailureEvery = cmp.Or(max(d.AuthFailureEvery, 0), DefaultAuthFailureEvery)
	if d.Metrics == nil {
		d.Metrics = metrics.New(d.Log)
	}
	return d
}

func newServer(d Deps) *Server {
	d = d.withDefaults()
	return &Server{Deps: d, mux: http.NewServeMux(), authFailures: newFailureLimiter(d.AuthFailureEvery, d.AuthFailureBurst)}
}

// ServeHTTP runs the middleware every request gets, then the route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if !validRequestID.MatchString(id) {
		id = ids.NewHex("")
	}
	ctx := logging.WithRequestID(r.Context(), id)
	// Requests sent while serving this one carry its trace (docs/DESIGN.md,
	// "Outbound requests"); one that does not parse is dropped.
	ctx = traceparent.With(ctx, r.Header.Get(traceparent.Header))
	r = r.WithContext(ctx)
	w.Header().Set("X-Request-Id", id)
	r.Body = http.MaxBytesReader(w, r.Body, s.MaxBodyBytes)

	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	start := time.Now()
	// Handler only finds the route; ServeHTTP also sets the path values.
	h, pattern := s.mux.Handler(r)
	defer func() {
		if v := recover(); v != nil {
			s.Log.ErrorContext(ctx, "panic in handler", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !rec.wrote {
				writeProblem(rec, r, fmt.Errorf("panic: %v", v), func(string, ...any) {})
			}
		}
		lvl := slog.LevelInfo
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			lvl = slog.LevelDebug
		}
		took := time.Since(start)
		s.Log.Log(ctx, lvl, "request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration_ms", float64(took.Microseconds())/1000, "remote", r.RemoteAddr)
		// The pattern, never the path: ids in paths would make a series each.
		s.Metrics.ObserveRequest(pattern, r.Method, rec.status, took)
	}()
	if pattern == "" {
		s.noRoute(rec, r, h)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// noRoute answers requests that match no route (404) or a route under
// another method (405, with Allow) as problems, like every other error.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request, muxAnswer http.Handler) {
	probe := &headerProbe{header: http.Header{}}
	muxAnswer.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		p := problem(http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
		p.Header = http.Header{"Allow": probe.header.Values("Allow")}
		s.fail(w, r, p)
		return
	}
	s.fail(w, r, notFound("route "+r.URL.Path))
}

// headerProbe records what the mux's own error handler would answer.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.status = code }

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,128}$`)

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// fail answers err as a problem, logging internal errors with the request.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeProblem(w, r, asProblem(err), func(msg string, args ...any) { s.Log.ErrorContext(r.Context(), msg, args...) })
}

// HTTPServer wraps a handler in an http.Server with timeouts that a slow
// or malicious client cannot hold open.
func HTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		// An API call may wait up to 30 s for its result.
		WriteTimeout:   75 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
