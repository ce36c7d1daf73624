package metrics_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/metrics"
	"github.com/liaison/liaison/jobs"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	body, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return string(body)
}

func TestRouteLabelIsThePatternAndMethodsAreBounded(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	m.ObserveRequest("GET /v1/hooks/{id}", http.MethodGet, 200, 3*time.Millisecond)
	m.ObserveRequest("", "BREW", 405, time.Millisecond)
	m.ObserveRequest("", http.MethodGet, 404, time.Millisecond)
	out := scrape(t, m)
	require.Contains(t, out, `liaison_http_requests_total{method="GET",route="/v1/hooks/{id}",status="200"} 1`)
	require.Contains(t, out, `liaison_http_requests_total{method="other",route="unmatched",status="405"} 1`)
	require.Contains(t, out, `liaison_http_requests_total{method="GET",route="unmatched",status="404"} 1`)
	require.Contains(t, out, `liaison_http_request_duration_seconds_bucket{route="/v1/hooks/{id}",le="0.005"} 1`)
	require.NotContains(t, out, "BREW")
}

func TestDomainCountersStartAtZero(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	out := scrape(t, m)
	for _, line := range []string{
		`liaison_delivery_attempts_total{outcome="fail",target_kind="callback"} 0`,
		`liaison_token_refreshes_total{result="ok"} 0`,
		`liaison_import_runs_total{status="unchanged"} 0`,
	} {
		require.Contains(t, out, line)
	}
	m.ObserveAttempt("call", "retry", 40*time.Millisecond)
	m.ObserveRefresh(metrics.RefreshInvalidGrant)
	m.ObserveRun("succeeded")
	out = scrape(t, m)
	for _, line := range []string{
		`liaison_delivery_attempts_total{outcome="retry",target_kind="call"} 1`,
		`liaison_delivery_attempt_duration_seconds_count{target_kind="call"} 1`,
		`liaison_token_refreshes_total{result="invalid_grant"} 1`,
		`liaison_import_runs_total{status="succeeded"} 1`,
	} {
		require.Contains(t, out, line)
	}
}

func TestNilMetricsObservesNothing(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	m.ObserveRequest("GET /healthz", http.MethodGet, 200, time.Millisecond)
	m.ObserveAttempt("hook", "succeeded", time.Millisecond)
	m.ObserveRefresh(metrics.RefreshOK)
	m.ObserveRun("failed")
}

func TestQueueGaugesAreReadAtScrape(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	var calls int
	var fail error
	m.WatchQueues(func() ([]jobs.QueueTasks, error) {
		calls++
		if fail != nil {
			return nil, fail
		}
		return []jobs.QueueTasks{{Queue: "default", Pending: 3, Active: 1, Scheduled: 2, Retry: 5, Archived: 7}}, nil
	})
	require.Zero(t, calls, "nothing is read before a scrape")
	out := scrape(t, m)
	require.Equal(t, 1, calls)
	for _, line := range []string{
		`liaison_queue_tasks{queue="default",state="pending"} 3`,
		`liaison_queue_tasks{queue="default",state="active"} 1`,
		`liaison_queue_tasks{queue="default",state="scheduled"} 2`,
		`liaison_queue_tasks{queue="default",state="retry"} 5`,
		`liaison_queue_tasks{queue="default",state="archived"} 7`,
	} {
		require.Contains(t, out, line)
	}

	// Redis down: the gauges are left out, everything else is served.
	fail = errors.New("redis: connection refused")
	out = scrape(t, m)
	require.NotContains(t, out, "liaison_queue_tasks{")
	require.Contains(t, out, `liaison_token_refreshes_total{result="ok"} 0`)
}
