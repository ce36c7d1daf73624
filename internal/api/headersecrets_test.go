package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/jobs"
)

// Header secrets of the tests below: long enough to be masked as
// first*****last, and unlike anything else a database or a log holds.
const (
	connAPIKey   = "ck_7Hq2LmV9xR4tW8zA1bC3"
	hookAPIKey   = "hk_5Jd8NpQ2sT6vY9kE4fG7"
	callSession  = "st_3Mr6PwX1cZ5bN8jK2hD9"
	tenantSecret = "tn_8Fv4GsK7qL2wE5rT1yU6"
)

// headerBundle is the delivery bundle with API calls on the test schedule
// and a token for every scope.
func headerBundle(t *testing.T) (*apptest.DeliveryBundle, func(method, path string, body any, want int) map[string]any) {
	t.Helper()
	b := apptest.SetupDeliveriesWith(t, jobs.WorkerOptions{Concurrency: 20, ShutdownTimeout: time.Second}, func(o *hooks.Options) {
		o.ReauthRecheck = 200 * time.Millisecond
	}, func(o *calls.Options) { o.Schedule = apptest.Schedule })
	all := b.Token(t, access.AllScopes...)
	return b, func(method, path string, body any, want int) map[string]any {
		t.Helper()
		resp, out := b.Do(t, method, path, all, body)
		require.Equal(t, want, resp.StatusCode, "%s %s answered %v", method, path, out)
		return out
	}
}

// dumpDatabase is what a dump of the test's database shows: on PostgreSQL
// every row of every table in the test's schema, as text; on SQLite every
// byte of the database file and its write-ahead log.
func dumpDatabase(t *testing.T, d dbtest.Database) string {
	t.Helper()
	var sb strings.Builder
	if d.Dialect == db.Postgres {
		tables := d.Strings(t, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
		require.Contains(t, tables, "connections")
		for _, table := range tables {
			for _, row := range d.Strings(t, `SELECT CAST(t AS TEXT) FROM "`+table+`" AS t`) {
				sb.WriteString(row)
				sb.WriteByte('\n')
			}
		}
		return sb.String()
	}
	path := strings.TrimPrefix(d.URL, "sqlite:")
	files, err := filepath.Glob(path + "*")
	require.NoError(t, err)
	require.Contains(t, files, path)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		sb.Write(b)
	}
	return sb.String()
}

// A connection's fixed header, an action hook's header and an API call's
// header reach their receivers, and neither a dump of the database nor a
// log line nor an answer holds any of them.
func TestHeaderSecretsAreInNoDatabaseDump(t *testing.T) {
	t.Parallel()
	b, call := headerBundle(t)
	crm := apptest.NewReceiver(t, nil)
	hookRC := apptest.NewReceiver(t, nil)

	conn := call(http.MethodPost, "/v1/connections", map[string]any{
		"name": "CRM", "auth_type": "bearer", "base_url": crm.URL + "/api", "token": "crm-t0ken-for-dump",
		"headers": map[string]string{"X-Api-Key": connAPIKey, "Version": "2021-07-28"},
	}, http.StatusCreated)["id"].(string)
	hook := call(http.MethodPost, "/v1/hooks", map[string]any{
		"name": "crm", "event_types": []string{"form.sent"}, "url": hookRC.URL + "/contacts",
		"headers": map[string]string{"X-Api-Key": hookAPIKey}, "body": map[string]any{"email": "{{profile.email}}"},
	}, http.StatusCreated)["id"].(string)

	call(http.MethodPost, "/v1/events", map[string]any{
		"id": "evt_dump_1", "type": "form.sent", "occurred_at": time.Now().UTC().Format(time.RFC3339),
		"profile": map[string]any{"email": "a@example.com"},
	}, http.StatusAccepted)
	require.Equal(t, hookAPIKey, hookRC.WaitFor(t, 1)[0].Header.Get("X-Api-Key"), "the hook's receiver gets the real key")

	c := call(http.MethodPost, "/v1/calls", map[string]any{
		"connection_id": conn, "method": "GET", "path": "/me",
		"headers": map[string]string{"X-Session-Token": callSession}, "wait": 10,
	}, http.StatusOK)
	require.Equal(t, "succeeded", c["state"], "%v", c)
	got := crm.WaitFor(t, 1)[0]
	require.Equal(t, connAPIKey, got.Header.Get("X-Api-Key"), "the connection's receiver gets its fixed header")
	require.Equal(t, callSession, got.Header.Get("X-Session-Token"), "and the call's own")

	answers := jsonString(t, []any{
		call(http.MethodGet, "/v1/connections/"+conn, nil, http.StatusOK),
		call(http.MethodGet, "/v1/connections", nil, http.StatusOK),
		call(http.MethodGet, "/v1/hooks/"+hook, nil, http.StatusOK),
		call(http.MethodGet, "/v1/deliveries?hook="+hook, nil, http.StatusOK),
		call(http.MethodGet, "/v1/calls/"+c["id"].(string), nil, http.StatusOK),
	})
	dump := dumpDatabase(t, b.DB)
	require.Contains(t, dump, conn, "the dump holds the rows")
	secrets := []string{connAPIKey, hookAPIKey, callSession}
	for _, v := range secrets {
		require.False(t, strings.Contains(dump, v), "the database holds the header secret %q in plaintext", v)
		require.NotContains(t, answers, v, "an answer shows a header secret")
	}
	requireNoLogHolds(t, b.Bundle, secrets...)
}

// A connection's fixed headers show masked in answers, but for the short
// list of headers that carry no secret; an edit that sends back what an
// answer showed keeps them, a new value replaces them.
func TestConnectionHeadersAreMaskedAndKeptOnEdit(t *testing.T) {
	t.Parallel()
	b, call := headerBundle(t)
	crm := apptest.NewReceiver(t, nil)

	c := call(http.MethodPost, "/v1/connections", map[string]any{
		"name": "CRM", "auth_type": "bearer", "base_url": crm.URL + "/api", "token": "crm-t0ken", "test_path": "/me",
		"headers": map[string]string{"X-Api-Key": connAPIKey, "X-Tenant": tenantSecret, "Version": "2021-07-28", "Accept": "application/json"},
	}, http.StatusCreated)
	id := c["id"].(string)
	want := map[string]any{"X-Api-Key": "c******3", "X-Tenant": "t******6", "Version": "2021-07-28", "Accept": "application/json"}
	require.Equal(t, want, c["headers"], "secrets masked, even under a name that does not look secret")
	require.Equal(t, want, call(http.MethodGet, "/v1/connections/"+id, nil, http.StatusOK)["headers"])
	listed := call(http.MethodGet, "/v1/connections", nil, http.StatusOK)
	require.Equal(t, want, listed["data"].([]any)[0].(map[string]any)["headers"])

	// The edit a form makes: everything as shown, one field changed.
	shown := call(http.MethodGet, "/v1/connections/"+id, nil, http.StatusOK)
	edited := call(http.MethodPatch, "/v1/connections/"+id, map[string]any{"name": "CRM 2", "headers": shown["headers"]}, http.StatusOK)
	require.Equal(t, want, edited["headers"])
	require.Equal(t, true, call(http.MethodPost, "/v1/connections/"+id+"/test", nil, http.StatusOK)["ok"])
	got := crm.WaitFor(t, 1)[0]
	require.Equal(t, connAPIKey, got.Header.Get("X-Api-Key"), "the masked value kept the key")
	require.Equal(t, tenantSecret, got.Header.Get("X-Tenant"))
	require.Equal(t, "2021-07-28", got.Header.Get("Version"))

	// A new value replaces the stored one; a header left out is gone.
	const newKey = "ck_NEW9xR4tW8zA1bC3Hq2Lm"
	edited = call(http.MethodPatch, "/v1/connections/"+id, map[string]any{"headers": map[string]string{"X-Api-Key": newKey, "Version": "2021-07-28"}}, http.StatusOK)
	require.Equal(t, map[string]any{"X-Api-Key": "c******m", "Version": "2021-07-28"}, edited["headers"])
	require.Equal(t, true, call(http.MethodPost, "/v1/connections/"+id+"/test", nil, http.StatusOK)["ok"])
	got = crm.WaitFor(t, 2)[1]
	require.Equal(t, newKey, got.Header.Get("X-Api-Key"))
	require.Empty(t, got.Header.Get("X-Tenant"))
	requireNoLogHolds(t, b.Bundle, connAPIKey, tenantSecret, newKey)
}

// Hooks and calls follow the same rule as connections: a header off the
// non-secret list is a secret whatever its name, masked in answers and
// removed from the attempts' records, and sent as it is.
func TestHookAndCallHeadersOffTheListAreSecrets(t *testing.T) {
	t.Parallel()
	b, call := headerBundle(t)
	rc := apptest.NewReceiver(t, nil)

	h := call(http.MethodPost, "/v1/hooks", map[string]any{
		"name": "crm", "event_types": []string{"form.sent"}, "url": rc.URL + "/contacts",
		"headers": map[string]string{"X-Tenant": tenantSecret, "Accept-Language": "de"},
	}, http.StatusCreated)
	hook := h["id"].(string)
	require.Equal(t, map[string]any{"X-Tenant": "t******6", "Accept-Language": "de"}, h["headers"])
	edited := call(http.MethodPatch, "/v1/hooks/"+hook, map[string]any{"headers": h["headers"]}, http.StatusOK)
	require.Equal(t, h["headers"], edited["headers"])

	call(http.MethodPost, "/v1/events", map[string]any{
		"id": "evt_list_1", "type": "form.sent", "occurred_at": time.Now().UTC().Format(time.RFC3339), "profile": map[string]any{},
	}, http.StatusAccepted)
	got := rc.WaitFor(t, 1)[0]
	require.Equal(t, tenantSecret, got.Header.Get("X-Tenant"), "the masked value sent back kept the secret")
	require.Equal(t, "de", got.Header.Get("Accept-Language"))
	var d map[string]any
	require.Eventually(t, func() bool {
		list := call(http.MethodGet, "/v1/deliveries?hook="+hook, nil, http.StatusOK)["data"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["status"] != "succeeded" {
			return false
		}
		d = call(http.MethodGet, "/v1/deliveries/"+list[0].(map[string]any)["id"].(string), nil, http.StatusOK)
		return true
	}, 10*time.Second, 10*time.Millisecond)
	recorded := d["attempts"].([]any)[0].(map[string]any)["request_headers"].(map[string]any)
	require.Equal(t, "[removed]", recorded["X-Tenant"])
	require.Equal(t, "de", recorded["Accept-Language"], "headers on the list are recorded")

	conn := call(http.MethodPost, "/v1/connections", map[string]any{
		"name": "CRM", "auth_type": "bearer", "base_url": rc.URL + "/api", "token": "crm-t0ken",
	}, http.StatusCreated)["id"].(string)
	c := call(http.MethodPost, "/v1/calls", map[string]any{
		"connection_id": conn, "method": "GET", "path": "/me", "wait": 10,
		"headers": map[string]string{"X-Tenant": tenantSecret, "Accept": "application/json"},
	}, http.StatusOK)
	require.Equal(t, "succeeded", c["state"], "%v", c)
	require.Equal(t, tenantSecret, rc.WaitFor(t, 2)[1].Header.Get("X-Tenant"))
	recorded = apptest.AttemptsOf(c)[0]["request_headers"].(map[string]any)
	require.Equal(t, "[removed]", recorded["X-Tenant"])
	require.Equal(t, "application/json", recorded["Accept"])
	require.Equal(t, c["id"], recorded["Idempotency-Key"], "what Liaison writes itself is recorded")
	require.NotContains(t, b.Logs.String(), tenantSecret)
}

// Rows written before headers were sealed hold them as a plaintext JSON
// object. They keep working as they are, and the pass every process makes
// at start (SealStoredHeaders) seals them, once: migration 0009 lists the
// tables that need it and the pass takes each off the list.
func TestHeadersStoredInPlaintextAreSealedAtStart(t *testing.T) {
	t.Parallel()
	b, call := headerBundle(t)
	ctx := context.Background()
	hookRC := apptest.NewReceiver(t, nil)
	release := make(chan struct{})
	released := sync.OnceFunc(func() { close(release) })
	t.Cleanup(released) // a failure below must not leave the receiver waiting
	crm := apptest.NewReceiver(t, func(n int, _ *http.Request, w http.ResponseWriter) {
		if n == 0 {
			<-release // the call's first attempt waits while the test rewrites its row
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	// The bundle started as every process does: what 0009 listed is sealed.
	require.Empty(t, unsealedTables(t, b.DB), "the application seals at start")

	conn := call(http.MethodPost, "/v1/connections", map[string]any{
		"name": "CRM", "auth_type": "bearer", "base_url": crm.URL + "/api", "token": "crm-t0ken", "test_path": "/me",
		"headers": map[string]string{"X-Api-Key": connAPIKey},
	}, http.StatusCreated)["id"].(string)
	hook := call(http.MethodPost, "/v1/hooks", map[string]any{
		"name": "crm", "event_types": []string{"form.sent"}, "url": hookRC.URL + "/contacts",
		"headers": map[string]string{"X-Api-Key": hookAPIKey},
	}, http.StatusCreated)["id"].(string)
	callID := call(http.MethodPost, "/v1/calls", map[string]any{
		"connection_id": conn, "method": "GET", "path": "/me", "headers": map[string]string{"X-Session-Token": callSession},
	}, http.StatusAccepted)["id"].(string)
	crm.WaitFor(t, 1)

	// What versions before 0009 wrote, on the list 0009 makes.
	_, err := b.DB.ExecContext(ctx, `INSERT INTO unsealed_headers (table_name) VALUES ('connections'), ('hooks'), ('calls')`)
	require.NoError(t, err)
	for _, r := range []struct{ table, id, headers string }{
		{"connections", conn, `{"X-Api-Key":"` + connAPIKey + `","Version":"2021-07-28"}`},
		{"hooks", hook, `{"X-Api-Key":"` + hookAPIKey + `"}`},
		{"calls", callID, `{"X-Session-Token":"` + callSession + `"}`},
	} {
		_, err := b.DB.ExecContext(ctx, `UPDATE `+r.table+` SET headers = $1 WHERE id = $2`, r.headers, r.id)
		require.NoError(t, err)
	}
	require.Equal(t, []string{"calls", "connections", "hooks"}, unsealedTables(t, b.DB))

	// Read as they are: the call's retry, the hook, the connection.
	released()
	got := crm.WaitFor(t, 2)[1]
	require.Equal(t, callSession, got.Header.Get("X-Session-Token"), "the call's plaintext headers are read")
	require.Equal(t, connAPIKey, got.Header.Get("X-Api-Key"), "the connection's plaintext headers are read")
	require.Equal(t, "2021-07-28", got.Header.Get("Version"))
	require.Equal(t, map[string]any{"X-Api-Key": "c******3", "Version": "2021-07-28"}, call(http.MethodGet, "/v1/connections/"+conn, nil, http.StatusOK)["headers"])
	require.Equal(t, map[string]any{"X-Api-Key": "h******7"}, call(http.MethodGet, "/v1/hooks/"+hook, nil, http.StatusOK)["headers"])

	require.NoError(t, b.Conns.SealStoredHeaders(ctx))
	require.NoError(t, b.Hooks.SealStoredHeaders(ctx))
	require.NoError(t, b.Calls.SealStoredHeaders(ctx))
	require.Empty(t, unsealedTables(t, b.DB), "every table is taken off the list")
	for _, r := range []struct{ table, id, secret, name string }{
		{"connections", conn, connAPIKey, "X-Api-Key"}, {"hooks", hook, hookAPIKey, "X-Api-Key"}, {"calls", callID, callSession, "X-Session-Token"},
	} {
		var stored string
		require.NoError(t, b.DB.QueryRowContext(ctx, `SELECT CAST(headers AS TEXT) FROM `+r.table+` WHERE id = $1`, r.id).Scan(&stored))
		require.True(t, strings.HasPrefix(stored, `"v1.`), "%s %s headers are sealed: %s", r.table, r.id, stored)
		require.NotContains(t, stored, r.secret)
		// (A name, not "X-": base64url ciphertext holds "X-" now and then.)
		require.NotContains(t, stored, r.name, "the names are sealed with the values")
	}

	// Sealed, they work as before.
	require.Equal(t, true, call(http.MethodPost, "/v1/connections/"+conn+"/test", nil, http.StatusOK)["ok"])
	require.Equal(t, connAPIKey, crm.WaitFor(t, 3)[2].Header.Get("X-Api-Key"))
	call(http.MethodPost, "/v1/events", map[string]any{
		"id": "evt_seal_1", "type": "form.sent", "occurred_at": time.Now().UTC().Format(time.RFC3339), "profile": map[string]any{},
	}, http.StatusAccepted)
	require.Equal(t, hookAPIKey, hookRC.WaitFor(t, 1)[0].Header.Get("X-Api-Key"))
	require.Equal(t, "succeeded", call(http.MethodGet, "/v1/calls/"+callID, nil, http.StatusOK)["state"])

	// Done once: a later start finds nothing to do, even a row that an
	// older process wrote meanwhile is left to be read as it is.
	_, err = b.DB.ExecContext(ctx, `UPDATE hooks SET headers = $1 WHERE id = $2`, `{"X-Api-Key":"`+hookAPIKey+`"}`, hook)
	require.NoError(t, err)
	require.NoError(t, b.Hooks.SealStoredHeaders(ctx))
	var stored string
	require.NoError(t, b.DB.QueryRowContext(ctx, `SELECT CAST(headers AS TEXT) FROM hooks WHERE id = $1`, hook).Scan(&stored))
	require.Contains(t, stored, hookAPIKey, "the pass ran once, not at every start")
	requireNoLogHolds(t, b.Bundle, connAPIKey, hookAPIKey, callSession)
}

// requireNoLogHolds fails the test if any log line so far holds one of
// the secrets.
func requireNoLogHolds(t *testing.T, b *apptest.Bundle, secrets ...string) {
	t.Helper()
	logs := b.Logs.String()
	for _, v := range secrets {
		require.NotContains(t, logs, v, "a log line holds a header secret")
	}
}

func unsealedTables(t *testing.T, d dbtest.Database) []string {
	t.Helper()
	return d.Strings(t, `SELECT table_name FROM unsealed_headers ORDER BY table_name`)
}

// A hook's credential headers are secrets like any other: sealed at rest,
// masked in answers, kept when an edit sends the masked value back, and
// sent as they are.
func TestHookCredentialHeadersAreSealedAndMasked(t *testing.T) {
	t.Parallel()
	b := apptest.SetupDeliveries(t, nil)
	rc := apptest.NewReceiver(t, nil)
	const apiKey = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"

	h := b.Call(t, http.MethodPost, "/v1/hooks", map[string]any{
		"name": "crm", "event_types": []string{"form.sent"}, "url": rc.URL + "/contacts",
		"headers": map[string]string{"X-Api-Key": apiKey, "Version": "2021-07-28"},
		"body":    map[string]any{"email": "{{profile.email}}"},
	}, http.StatusCreated)
	id := h["id"].(string)
	shown := h["headers"].(map[string]any)
	require.Equal(t, "s******c", shown["X-Api-Key"], "the answer shows the key masked")
	require.Equal(t, "2021-07-28", shown["Version"], "other headers show as they are")

	var stored string
	require.NoError(t, b.DB.DB.QueryRowContext(context.Background(), `SELECT headers FROM hooks WHERE id = $1`, id).Scan(&stored))
	require.NotContains(t, stored, apiKey, "the key is not stored in plaintext")
	require.NotContains(t, stored, "2021-07-28", "the whole header set is sealed with it")

	listed := b.Call(t, http.MethodGet, "/v1/hooks", nil, http.StatusOK)
	require.NotContains(t, jsonString(t, listed), apiKey)

	// Editing with what GET showed keeps the key; a new value replaces it.
	got := b.Call(t, http.MethodGet, "/v1/hooks/"+id, nil, http.StatusOK)
	edited := b.Call(t, http.MethodPatch, "/v1/hooks/"+id, map[string]any{"name": "crm 2", "headers": got["headers"]}, http.StatusOK)
	require.Equal(t, "s******c", edited["headers"].(map[string]any)["X-Api-Key"])

	b.Call(t, http.MethodPost, "/v1/events", map[string]any{
		"id": "evt_hdr_1", "type": "form.sent", "occurred_at": time.Now().UTC().Format(time.RFC3339),
		"profile": map[string]any{"email": "a@example.com"},
	}, http.StatusAccepted)
	require.Eventually(t, func() bool { return len(rc.Requests()) == 1 }, 10*time.Second, 10*time.Millisecond)
	sent := rc.Requests()[0]
	require.Equal(t, apiKey, sent.Header.Get("X-Api-Key"), "the receiver gets the real key")
	require.Equal(t, "2021-07-28", sent.Header.Get("Version"))

	d := b.Call(t, http.MethodGet, "/v1/deliveries?hook="+id, nil, http.StatusOK)
	require.NotContains(t, jsonString(t, d), apiKey, "attempts record the header removed")
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
