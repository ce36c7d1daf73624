package apptest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/config"
	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/app"
	"github.com/liaison/liaison/internal/metrics"
	"github.com/liaison/liaison/internal/secret"
	"github.com/liaison/liaison/jobs"
)

// DeliveryBundle is the whole delivery path in one test: the API, the
// delivery engine, the connections service as its Sender (loopback allowed)
// and a real worker on the test's own Redis, with the retry schedule scaled
// to milliseconds.
type DeliveryBundle struct {
	*Bundle
	Hooks  *hooks.Service
	Calls  *calls.Service
	Conns  *connections.Service
	Secret string // an access token with every scope this area needs
	Ring   *secret.Ring
	Opts   hooks.Options
	// Metrics is what the bundle's /metrics serves, wired as cmd/liaison
	// wires the web process.
	Metrics *metrics.Metrics
}

// Schedule is DELIVERY_SCHEDULE scaled down: six attempts, the first at
// once, the rest 20–60 ms apart (asynq moves due retries every 100 ms).
var Schedule = hooks.Schedule{0, 20 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond, 60 * time.Millisecond}

// DeliveriesPublicURL is PUBLIC_URL in the delivery bundle, and
// DeliveriesRedirectURI the connections' redirect URI made of it; the
// browser's return to it is replayed against the test server.
const (
	DeliveriesPublicURL   = "http://localhost"
	DeliveriesRedirectURI = DeliveriesPublicURL + "/oauth/callback"
)

// Worker is the worker of the test bundles: 20 slots for tasks, the
// default for deliveries.
var Worker = jobs.WorkerOptions{Concurrency: 20, ShutdownTimeout: time.Second}

// SetupDeliveries is the delivery bundle with the test Worker, the hooks'
// options tuned by tune (nil for none).
func SetupDeliveries(t *testing.T, tune func(*hooks.Options)) *DeliveryBundle {
	t.Helper()
	return SetupDeliveriesWith(t, Worker, tune, nil)
}

// SetupDeliveriesWith is SetupDeliveries with the worker configured as
// given, tuning API calls too. The application is wired as the binary
// wires it (internal/app).
func SetupDeliveriesWith(t *testing.T, wc jobs.WorkerOptions, tune func(*hooks.Options), tuneCalls func(*calls.Options)) *DeliveryBundle {
	t.Helper()
	b := Setup(t)
	ring := NewRing(t)
	var opts hooks.Options
	a := b.StartApp(t, app.Options{
		Config: WorkerOptions(wc, config.Config{PublicURL: DeliveriesPublicURL, AllowedCIDRs: Loopback, MaxBodyBytes: 4 << 20}),
		Ring:   ring,
		Hooks: Tuned(&opts, func(o *hooks.Options) {
			o.Schedule, o.RotationOverlap, o.RequestTimeout, o.RetryAfterMax = Schedule, time.Hour, 5*time.Second, 1500*time.Millisecond
		}, tune),
		Calls: tuneCalls,
	})
	a.Metrics.WatchQueues(a.Jobs.QueueTasks)
	// Feed imports tell of their runs' ends through the engine too.
	b.Imports = a.Imports
	srv := httptest.NewServer(api.New(a.APIDeps()))
	t.Cleanup(srv.Close)
	b.Server = srv
	db := &DeliveryBundle{Bundle: b, Hooks: a.Hooks, Calls: a.Calls, Conns: a.Connections, Ring: ring, Opts: opts, Metrics: a.Metrics}
	db.Secret = b.Token(t, access.ScopeEventsWrite, access.ScopeHooksRead, access.ScopeHooksWrite)
	return db
}

// Call is b.Do with the bundle's token, requiring the status.
func (b *DeliveryBundle) Call(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	resp, out := b.Do(t, method, path, b.Secret, body)
	require.Equal(t, want, resp.StatusCode, "%s %s answered %v", method, path, out)
	return out
}

// WaitDelivery polls a delivery until it has the status.
func (b *DeliveryBundle) WaitDelivery(t *testing.T, id, status string) map[string]any {
	t.Helper()
	var last map[string]any
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		last = b.Call(t, http.MethodGet, "/v1/deliveries/"+id, nil, http.StatusOK)
		if last["status"] == status || time.Now().After(deadline) {
			break
		}
	}
	require.Equal(t, status, last["status"], "delivery %s never became %s: %v", id, status, last)
	return last
}

// Event posts an event and returns its id and the ids of its deliveries.
func (b *DeliveryBundle) Event(t *testing.T, ev map[string]any) (eventID string, deliveries []string) {
	t.Helper()
	out := b.Call(t, http.MethodPost, "/v1/events", ev, http.StatusAccepted)
	for _, d := range out["deliveries"].([]any) {
		deliveries = append(deliveries, d.(string))
	}
	return out["id"].(string), deliveries
}
