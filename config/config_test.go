package config_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/config"
	"github.com/liaison/liaison/internal/db"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, ":8080", c.ListenAddr)
	require.Equal(t, "http://localhost:8080", c.PublicURL)
	require.Equal(t, "http://localhost:8080/oauth/callback", c.RedirectURI())
	require.Equal(t, "liaison.db", c.SQLitePath())
	require.False(t, c.Postgres())
	require.Empty(t, c.RedisURL)
	require.Equal(t, "info", c.LogLevel)
	require.Equal(t, "text", c.LogFormat)
	require.Equal(t, 200, c.DeliveryConcurrency)
	require.Equal(t, 50, c.WorkerConcurrency)
	require.Equal(t, 25*time.Second, c.ShutdownTimeout)
	require.Equal(t, 2*time.Millisecond, c.DeliveryPollInterval)
	require.Equal(t, 7*24*time.Hour, c.TokenRotationOverlap)
	require.EqualValues(t, 1<<20, c.MaxBodyBytes)
}

func TestLoadProduction(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{
		"LISTEN_ADDR":   "0.0.0.0:9000",
		"PUBLIC_URL":    "https://liaison.example.com/",
		"DATABASE_URL":  "postgres://liaison:pw@db:5432/liaison",
		"REDIS_URL":     "redis-sentinel://:pw@s1:26379/0?master_name=main&addr=s2:26379",
		"SECRET_KEYS":   "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=, HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=",
		"ALLOWED_CIDRS": "10.1.0.0/16, 127.0.0.1",
		"LOG_FORMAT":    "JSON",
	}))
	require.NoError(t, err)
	require.Equal(t, "https://liaison.example.com", c.PublicURL)
	require.True(t, c.Postgres())
	require.Len(t, c.SecretKeys, 2)
	require.Equal(t, byte(0), c.SecretKeys[0][0])
	require.Equal(t, "json", c.LogFormat)
	require.Len(t, c.AllowedCIDRs, 2)
	require.Equal(t, "127.0.0.1/32", c.AllowedCIDRs[1].String())
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	const secretish = "c2VjcmV0LXNob3J0LWtleQ==" // 16 bytes: too short
	_, err := config.Load(env(map[string]string{
		"LISTEN_ADDR":            "8080",
		"PUBLIC_URL":             "ftp://x",
		"DATABASE_URL":           "mysql://root:hunter2@db/x",
		"REDIS_URL":              "redis-sentinel://:hunter2@s1:26379",
		"SECRET_KEYS":            secretish + ",not base64!!",
		"LOG_LEVEL":              "loud",
		"LOG_FORMAT":             "xml",
		"WORKER_CONCURRENCY":     "many",
		"DELIVERY_CONCURRENCY":   "0",
		"ALLOWED_CIDRS":          "10.0.0.0/33",
		"SHUTDOWN_TIMEOUT":       "soon",
		"MAX_BODY_BYTES":         "12",
		"TOKEN_ROTATION_OVERLAP": "1s",
		"DELIVERY_POLL_INTERVAL": "100us",
	}))
	var cerr *config.Error
	require.True(t, errors.As(err, &cerr), "got %v; want *config.Error", err)

	got := map[string]string{}
	for _, p := range cerr.Problems {
		got[p.Var] += p.Message + "; "
	}
	for _, v := range []string{"LISTEN_ADDR", "PUBLIC_URL", "DATABASE_URL", "REDIS_URL", "SECRET_KEYS",
		"LOG_LEVEL", "LOG_FORMAT", "WORKER_CONCURRENCY", "DELIVERY_CONCURRENCY", "ALLOWED_CIDRS", "SHUTDOWN_TIMEOUT",
		"MAX_BODY_BYTES", "TOKEN_ROTATION_OVERLAP", "DELIVERY_POLL_INTERVAL"} {
		require.Contains(t, got, v, "problem for %s missing from:\n%s", v, err)
	}
	require.Contains(t, got["SECRET_KEYS"], "key 1 is 16 bytes long; expected exactly 32 bytes")
	require.Contains(t, got["SECRET_KEYS"], "key 2 is not valid base64")
	require.Contains(t, got["LOG_LEVEL"], "debug, info, warn, error")
	require.Contains(t, got["REDIS_URL"], "master_name")

	msg := err.Error()
	for _, secret := range []string{"hunter2", secretish, "not base64!!"} {
		require.NotContains(t, msg, secret, "a secret leaked into the message")
	}
	require.True(t, strings.HasPrefix(msg, "configuration has 15 problem(s):"), msg)
}

func TestARepeatedSecretKeyIsAProblem(t *testing.T) {
	t.Parallel()
	const key = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq8M=" // 32 bytes
	_, err := config.Load(env(map[string]string{"SECRET_KEYS": key + "," + key}))
	var cerr *config.Error
	require.True(t, errors.As(err, &cerr), "got %v; want *config.Error", err)
	require.Len(t, cerr.Problems, 1)
	require.Equal(t, "SECRET_KEYS", cerr.Problems[0].Var)
	require.Contains(t, cerr.Problems[0].Message, "key 2 repeats an earlier key")
	require.NotContains(t, err.Error(), key)
}

func TestCallRetention(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, 24*time.Hour, c.CallRetention, "results are kept a day by default")
	c, err = config.Load(env(map[string]string{"CALL_RETENTION": "72h"}))
	require.NoError(t, err)
	require.Equal(t, 72*time.Hour, c.CallRetention)
	for _, bad := range []string{"a day", "1s", "9000h"} {
		_, err := config.Load(env(map[string]string{"CALL_RETENTION": bad}))
		var cerr *config.Error
		require.True(t, errors.As(err, &cerr), "%s: got %v; want *config.Error", bad, err)
		require.Equal(t, "CALL_RETENTION", cerr.Problems[0].Var, bad)
	}
}

// The README's configuration table is where operators look: every variable
// Load reads has its row there.
func TestREADMEListsEveryVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	for _, v := range config.Variables() {
		require.Contains(t, string(readme), "| `"+v+"` |", "README.md has no row for %s", v)
	}
}

func TestDatabasePoolSize(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, db.DefaultPoolSize, c.DatabasePoolSize, "the default is the db package's")
	require.LessOrEqual(t, 10*c.DatabasePoolSize, 90, "ten processes share a max_connections of 100 with room to spare")

	c, err = config.Load(env(map[string]string{"DATABASE_POOL_SIZE": "20"}))
	require.NoError(t, err)
	require.Equal(t, 20, c.DatabasePoolSize)
	for _, bad := range []string{"eight", "1", "0", "-3", "5000"} {
		_, err := config.Load(env(map[string]string{"DATABASE_POOL_SIZE": bad}))
		var cerr *config.Error
		require.True(t, errors.As(err, &cerr), "%s: got %v; want *config.Error", bad, err)
		require.Len(t, cerr.Problems, 1, bad)
		require.Equal(t, "DATABASE_POOL_SIZE", cerr.Problems[0].Var, bad)
	}
}
