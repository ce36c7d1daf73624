package main

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/redistest"
	"github.com/liaison/liaison/internal/secret"
)

// A database from before header sealing (migrations up to 0008) holds
// header values in plaintext. The first process started on it migrates it
// and seals them, and says so without showing them.
func TestStartSealsHeadersStoredInPlaintext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	database := dbtest.Empty(t)
	all, err := db.Migrations(database.Dialect)
	require.NoError(t, err)
	var before []db.Migration
	for _, m := range all {
		if m.Version < 9 {
			before = append(before, m)
		}
	}
	_, err = database.Apply(ctx, before)
	require.NoError(t, err)

	const keyB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	key, err := base64.StdEncoding.DecodeString(keyB64)
	require.NoError(t, err)
	ring, err := secret.NewRing([][]byte{key})
	require.NoError(t, err)
	token, err := ring.SealString("crm-t0ken", "connection:conn_old:static_token")
	require.NoError(t, err)

	const connKey, hookKey, callToken = "ck_old9xR4tW8zA1bC3Hq2L", "hk_old5Jd8NpQ2sT6vY9kE", "st_old3Mr6PwX1cZ5bN8jK"
	now := time.Now().UTC().Truncate(time.Microsecond)
	// Rows as the versions before wrote them.
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO connections (id, name, auth_type, status, base_url, allowed_hosts, headers, scopes, authorization_params,
			static_token, created_at, updated_at) VALUES ('conn_old', 'CRM', 'bearer', 'connected', 'https://crm.example.com', '[]', $1, '[]', '{}', $2, $3, $3)`,
			[]any{`{"X-Api-Key":"` + connKey + `","Version":"2021-07-28"}`, token, now}},
		{`INSERT INTO hooks (id, name, event_types, method, url, headers, enabled, version, created_at, updated_at)
			VALUES ('hook_old', 'crm', '["form.sent"]', 'POST', 'https://crm.example.com/contacts', $1, $2, 1, $3, $3)`,
			[]any{`{"X-Api-Key":"` + hookKey + `"}`, true, now}},
		{`INSERT INTO calls (id, connection_id, method, path, query, headers, request_hash, schedule, state, created_at, updated_at, finished_at)
			VALUES ('call_old', 'conn_old', 'GET', '/me', '{}', $1, 'h', '0s', 'succeeded', $2, $2, $2)`,
			[]any{`{"X-Session-Token":"` + callToken + `"}`, now}},
	} {
		_, err := database.ExecContext(ctx, q.sql, q.args...)
		require.NoError(t, err)
	}

	addr := freeAddr(t)
	p := start(t, map[string]string{
		"DATABASE_URL": database.URL, "REDIS_URL": redistest.New(t), "SECRET_KEYS": keyB64, "LISTEN_ADDR": addr,
	}, "serve")
	waitReady(t, p, "http://"+addr+"/readyz", 15*time.Second)
	require.Equal(t, 0, p.stop(t, 30*time.Second))

	for _, r := range []struct{ table, id, name, secret, aad string }{
		{"connections", "conn_old", "X-Api-Key", connKey, "connection:conn_old:headers"},
		{"hooks", "hook_old", "X-Api-Key", hookKey, "hook:hook_old:headers"},
		{"calls", "call_old", "X-Session-Token", callToken, "call:call_old:headers"},
	} {
		var stored string
		require.NoError(t, database.QueryRowContext(ctx, `SELECT CAST(headers AS TEXT) FROM `+r.table+` WHERE id = $1`, r.id).Scan(&stored))
		require.True(t, strings.HasPrefix(stored, `"v1.`), "%s headers are sealed: %s", r.table, stored)
		require.NotContains(t, stored, r.secret)
		h, err := ring.OpenHeaders(stored, r.aad)
		require.NoError(t, err, "sealed in place, bound to the row")
		require.Equal(t, r.secret, h[r.name], "the value is kept")
		require.Contains(t, p.output(), "sealed", "the start says what it did")
		require.NotContains(t, p.output(), r.secret, "and never shows a value")
	}
	var left int
	require.NoError(t, database.QueryRowContext(ctx, `SELECT count(*) FROM unsealed_headers`).Scan(&left))
	require.Zero(t, left, "every table is done")
}
