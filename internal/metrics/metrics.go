package metrics

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label values known in advance. Their series exist from the start at
// zero, so that rate() and absent() work before the first event.
var (
	targetKinds      = []string{"hook", "webhook", "call", "callback"}
	attemptOutcomes  = []string{"succeeded", "retry", "fail", "disable"}
	refreshResults   = []string{RefreshOK, RefreshError, RefreshInvalidGrant}
	runStatuses      = []string{"succeeded", "unchanged", "failed", "cancelled"}
	queueTaskStates  = []string{"pending", "active", "scheduled", "retry", "archived"}
	knownHTTPMethods = map[string]bool{
		http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
		http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
	}
)

// The results of a token refresh (liaison_token_refreshes_total).
const (
	RefreshOK = "ok"
	// RefreshInvalidGrant: the provider refused the grant; the connection
	// needs a person to reconnect it.
	RefreshInvalidGrant = "invalid_grant"
	// RefreshError: anything else, a failure that may pass.
	RefreshError = "error"
)

// durationBuckets span a quick answer to the 30 s limit of an outbound
// request and of an API call's wait.
var durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics is one process's metrics.
type Metrics struct {
	reg              *prometheus.Registry
	handler          http.Handler
	httpRequests     *prometheus.CounterVec
	httpDuration     *prometheus.HistogramVec
	deliveryAttempts *prometheus.CounterVec
	deliveryDuration *prometheus.HistogramVec
	tokenRefreshes   *prometheus.CounterVec
	importRuns       *prometheus.CounterVec
}

// New builds the registry with the Go runtime and process collectors and
// Liaison's metrics. log gets scrape errors (nil: discard).
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liaison_http_requests_total",
			Help: "HTTP requests answered, by matched route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "liaison_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by matched route pattern.",
			Buckets: durationBuckets,
		}, []string{"route"}),
		deliveryAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liaison_delivery_attempts_total",
			Help: "Outbound attempts of action hooks, event webhooks, API calls and call callbacks, by outcome (succeeded, retry, fail, disable).",
		}, []string{"target_kind", "outcome"}),
		deliveryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "liaison_delivery_attempt_duration_seconds",
			Help:    "Time of one outbound attempt, request and answer, by target kind.",
			Buckets: durationBuckets,
		}, []string{"target_kind"}),
		tokenRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liaison_token_refreshes_total",
			Help: "OAuth token refreshes sent to a token endpoint, by result (ok, error, invalid_grant).",
		}, []string{"result"}),
		importRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "liaison_import_runs_total",
			Help: "Feed-import runs that ended, by status (succeeded, unchanged, failed, cancelled).",
		}, []string{"status"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.deliveryAttempts, m.deliveryDuration, m.tokenRefreshes, m.importRuns,
	)
	for _, k := range targetKinds {
		m.deliveryDuration.WithLabelValues(k)
		for _, o := range attemptOutcomes {
			m.deliveryAttempts.WithLabelValues(k, o)
		}
	}
	for _, r := range refreshResults {
		m.tokenRefreshes.WithLabelValues(r)
	}
	for _, s := range runStatuses {
		m.importRuns.WithLabelValues(s)
	}
	// A collector that fails (Redis down for the queue gauges) is logged
	// and left out; the rest is still served.
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
	return m
}

// Handler serves the registry in Prometheus's text format (or another
// that the scraper asks for).
func (m *Metrics) Handler() http.Handler { return m.handler }

// ObserveRequest counts an HTTP request. pattern is the ServeMux pattern
// it matched ("GET /v1/hooks/{id}"), "" for none; its method, if any, is
// dropped: the request's own method is a label of its own. Methods outside
// the usual ones are counted as "other", so that a client cannot make
// series up.
func (m *Metrics) ObserveRequest(pattern, method string, status int, took time.Duration) {
	if m == nil {
		return
	}
	route := "unmatched"
	if pattern != "" {
		route = pattern
		if _, path, ok := strings.Cut(pattern, " "); ok {
			route = path
		}
	}
	if !knownHTTPMethods[method] {
		method = "other"
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(took.Seconds())
}

// ObserveAttempt counts one outbound attempt: targetKind is hook, webhook,
// call or callback; outcome is send.Outcome's String. It has the shape
// of hooks.Options.ObserveAttempt.
func (m *Metrics) ObserveAttempt(targetKind, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.deliveryAttempts.WithLabelValues(targetKind, outcome).Inc()
	m.deliveryDuration.WithLabelValues(targetKind).Observe(took.Seconds())
}

// ObserveRefresh counts one token refresh by its result (RefreshOK,
// RefreshError, RefreshInvalidGrant). It has the shape of
// connections.Options.ObserveRefresh.
func (m *Metrics) ObserveRefresh(result string) {
	if m == nil {
		return
	}
	m.tokenRefreshes.WithLabelValues(result).Inc()
}

// ObserveRun counts a feed-import run that ended, by its status. It has
// the shape of importer.Store.ObserveRun.
func (m *Metrics) ObserveRun(status string) {
	if m == nil {
		return
	}
	m.importRuns.WithLabelValues(status).Inc()
}
