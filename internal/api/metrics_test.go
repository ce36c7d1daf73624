package api_test

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/apptest"
)

// scrape reads /metrics without a token (scrapers carry none) and returns
// each sample, keyed by its name and labels as the text format writes
// them: `name{a="x",b="y"}`, labels sorted.
func scrape(t *testing.T, baseURL string) (samples map[string]float64, raw string) {
	t.Helper()
	resp, err := http.Get(baseURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	samples = map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		require.Positive(t, i, "sample line %q", line)
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, "sample line %q", line)
		samples[line[:i]] = v
	}
	return samples, string(body)
}

func TestMetricsCountRequestsAndDeliveries(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	// The endpoint answers 503 once, then 200: one attempt to retry, one
	// that succeeds.
	rc := apptest.NewReceiver(t, apptest.AnswerStatuses(http.StatusServiceUnavailable))
	b.Call(t, http.MethodPost, "/v1/webhooks", map[string]any{"url": rc.URL + "/in", "event_types": []string{"email.opened"}}, http.StatusCreated)
	_, ids := b.Event(t, map[string]any{"type": "email.opened", "profile": map[string]any{"email": "ada@example.com"}})
	require.Len(t, ids, 1)
	b.WaitDelivery(t, ids[0], "succeeded")
	resp, _ := b.Do(t, http.MethodGet, "/no/such/route/"+ids[0], "", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	got, raw := scrape(t, b.Server.URL)
	for key, want := range map[string]float64{
		`liaison_http_requests_total{method="POST",route="/v1/webhooks",status="201"}`: 1,
		`liaison_http_requests_total{method="POST",route="/v1/events",status="202"}`:   1,
		`liaison_http_requests_total{method="GET",route="unmatched",status="404"}`:     1,
		`liaison_delivery_attempts_total{outcome="retry",target_kind="webhook"}`:       1,
		`liaison_delivery_attempts_total{outcome="succeeded",target_kind="webhook"}`:   1,
		`liaison_delivery_attempts_total{outcome="succeeded",target_kind="hook"}`:      0,
		`liaison_delivery_attempt_duration_seconds_count{target_kind="webhook"}`:       2,
		`liaison_http_request_duration_seconds_count{route="/v1/events"}`:              1,
		`liaison_queue_tasks{queue="default",state="pending"}`:                         0,
		`liaison_queue_tasks{queue="low",state="archived"}`:                            0,
		`liaison_token_refreshes_total{result="invalid_grant"}`:                        0,
		`liaison_import_runs_total{status="failed"}`:                                   0,
	} {
		v, ok := got[key]
		require.True(t, ok, "no sample %s in:\n%s", key, raw)
		require.Equal(t, want, v, "%s", key)
	}
	// The delivery was polled by its id; the route label is the pattern.
	require.Positive(t, got[`liaison_http_requests_total{method="GET",route="/v1/deliveries/{id}",status="200"}`])
	require.NotContains(t, raw, ids[0], "a raw path became a label")
	require.NotContains(t, raw, b.Secret)
	require.NotContains(t, raw, "ada@example.com")
	require.Contains(t, raw, "go_goroutines", "the Go collector is registered")
	require.Contains(t, raw, "process_", "the process collector is registered")
}
