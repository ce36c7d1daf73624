package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/apptest"
)

func get(t *testing.T, url string, hdr ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &body)
	return resp, body
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	resp, body := get(t, b.Server.URL+"/healthz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ok", body["status"])

	resp, body = get(t, b.Server.URL+"/readyz")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, map[string]any{"database": "ok", "redis": "ok"}, body["checks"])
}

func TestReadinessNamesWhatIsDown(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	require.NoError(t, b.Redis.Close())
	resp, body := get(t, b.Server.URL+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, []any{"redis"}, body["failing"])
	require.Equal(t, "ok", body["checks"].(map[string]any)["database"])

	require.NoError(t, b.DB.Close())
	resp, body = get(t, b.Server.URL+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.ElementsMatch(t, []any{"redis", "database"}, body["failing"])
	// The answer is public: it names what is down, not the driver's words.
	require.Equal(t, "not answering", body["checks"].(map[string]any)["database"])
}

func TestReadinessWithoutWorker(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	resp, body := get(t, b.Server.URL+"/readyz?worker=1")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, []any{"worker"}, body["failing"])
}

func TestRequestIDOnAnswerAndLogLines(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	resp, _ := get(t, b.Server.URL+"/healthz", "X-Request-Id", "req-abcdef123")
	require.Equal(t, "req-abcdef123", resp.Header.Get("X-Request-Id"))

	resp, body := get(t, b.Server.URL+"/nowhere")
	id := resp.Header.Get("X-Request-Id")
	require.Len(t, id, 24, "a request id is made when none (or a bad one) comes in")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.Equal(t, id, body["request_id"])
	require.Contains(t, b.Logs.String(), "request_id=req-abcdef123")
	require.Contains(t, b.Logs.String(), "request_id="+id)
}

func TestUnknownRoutesAndMethodsAreProblems(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	req, err := http.NewRequest(http.MethodDelete, b.Server.URL+"/healthz", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.Contains(t, resp.Header.Get("Allow"), "GET")
}
