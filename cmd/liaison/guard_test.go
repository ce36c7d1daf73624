package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/redistest"
)

const loopbackWarning = "outbound requests to loopback are allowed because ALLOWED_CIDRS is unset"

// devWithReceiver starts `liaison dev` with env (plus a fresh database, a
// Redis, a key and a one-attempt schedule) and a webhook receiver on
// 127.0.0.1 that counts what it gets. It returns the API caller, the
// receiver's port and its count.
func devWithReceiver(t *testing.T, env map[string]string) (*proc, func(method, path string, body any, want int) map[string]any, string, *atomic.Int32) {
	t.Helper()
	env = withVar(env, "DATABASE_URL", dbtest.Empty(t).URL)
	env = withVar(env, "REDIS_URL", redistest.New(t))
	env = withVar(env, "SECRET_KEYS", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	// One attempt: a refused delivery fails at once instead of retrying.
	env = withVar(env, "DELIVERY_SCHEDULE", "0s")
	token := cliToken(t, env, "guard")

	var hits atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	u, err := url.Parse(receiver.URL)
	require.NoError(t, err)

	addr := freeAddr(t)
	p := start(t, withVar(env, "LISTEN_ADDR", addr), "dev")
	waitReady(t, p, "http://"+addr+"/readyz?worker=1", 15*time.Second)
	return p, apiCaller(t, addr, token), u.Port(), &hits
}

// deliver posts one event to webhooks at urls and waits for each delivery
// to end; it returns them in the order of urls.
func deliver(t *testing.T, api func(method, path string, body any, want int) map[string]any, urls []string) []map[string]any {
	t.Helper()
	byWebhook := map[string]string{}
	for _, u := range urls {
		wh := api(http.MethodPost, "/v1/webhooks", map[string]any{"url": u, "event_types": []string{"profile.updated"}}, http.StatusCreated)
		byWebhook[wh["id"].(string)] = u
	}
	ev := api(http.MethodPost, "/v1/events", map[string]any{
		"id": fmt.Sprintf("guard-%d", time.Now().UnixNano()), "type": "profile.updated",
		"occurred_at": time.Now().UTC().Format(time.RFC3339), "profile": map[string]any{"email": "a@example.com"}, "data": map[string]any{},
	}, http.StatusAccepted)
	ids := ev["deliveries"].([]any)
	require.Len(t, ids, len(urls))

	byURL := map[string]map[string]any{}
	for _, id := range ids {
		var d map[string]any
		deadline := time.Now().Add(20 * time.Second)
		for {
			d = api(http.MethodGet, "/v1/deliveries/"+id.(string), nil, http.StatusOK)
			if s := d["status"]; s == "succeeded" || s == "failed" || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		byURL[byWebhook[d["webhook_id"].(string)]] = d
	}
	out := make([]map[string]any, len(urls))
	for i, u := range urls {
		out[i] = byURL[u]
		require.NotNil(t, out[i], "a delivery to %s", u)
	}
	return out
}

// An operator who sets ALLOWED_CIDRS gets only what they named, in dev
// too: webhooks to a receiver on loopback, by address, by name and in the
// IPv4-mapped form, fail with the guard's reason and never reach it.
func TestDevWithAllowedCIDRsRefusesLoopback(t *testing.T) {
	t.Parallel()
	p, api, port, hits := devWithReceiver(t, map[string]string{"ALLOWED_CIDRS": "192.0.2.0/24"})
	urls := []string{
		"http://127.0.0.1:" + port + "/",
		"http://localhost:" + port + "/",
		"http://[::ffff:127.0.0.1]:" + port + "/",
	}
	got := deliver(t, api, urls)
	for i, d := range got {
		require.Equal(t, "failed", d["status"], "%s: %v", urls[i], d)
		require.Contains(t, d["last_error"], "(loopback", urls[i])
		require.Contains(t, d["last_error"], "set ALLOWED_CIDRS to allow it", urls[i])
		attempts := d["attempts"].([]any)
		require.Len(t, attempts, 1, urls[i])
		require.Contains(t, attempts[0].(map[string]any)["error"], "(loopback", urls[i])
	}
	require.Contains(t, got[0]["last_error"], "address 127.0.0.1 is in 127.0.0.0/8 (loopback)")
	// Go dials ::ffff:127.0.0.1 as 127.0.0.1, and the guard judges that.
	require.Contains(t, got[2]["last_error"], "address 127.0.0.1 is in 127.0.0.0/8 (loopback)")
	require.Zero(t, hits.Load(), "the receiver got no request")
	require.NotContains(t, p.output(), loopbackWarning)
	require.Equal(t, 0, p.stop(t, 30*time.Second))
}

// Without ALLOWED_CIDRS, dev opens loopback for a person trying Liaison on
// their own machine, and says so at start.
func TestDevWithoutAllowedCIDRsOpensLoopbackAndWarns(t *testing.T) {
	t.Parallel()
	p, api, port, hits := devWithReceiver(t, map[string]string{})
	warn := ""
	for _, line := range strings.Split(p.stderrString(), "\n") {
		if strings.Contains(line, loopbackWarning) {
			warn = line
		}
	}
	require.NotEmpty(t, warn, "dev warns that it opened loopback:\n%s", p.stderrString())
	require.Contains(t, warn, "level=WARN")

	urls := []string{"http://127.0.0.1:" + port + "/", "http://[::ffff:127.0.0.1]:" + port + "/"}
	for i, d := range deliver(t, api, urls) {
		require.Equal(t, "succeeded", d["status"], "%s: %v", urls[i], d)
	}
	require.EqualValues(t, len(urls), hits.Load())
	require.Equal(t, 0, p.stop(t, 30*time.Second))
}
