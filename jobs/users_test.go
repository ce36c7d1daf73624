package jobs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/liaison/liaison/internal/clocktest"
	"github.com/liaison/liaison/internal/users"
)

func TestUsersSweepTask(t *testing.T) {
	t.Parallel()
	r, d, _, _ := openServices(t)
	clock := clocktest.New(time.Now())
	svc, err := users.New(users.Options{DB: d.DB, Now: clock.Now, BcryptCost: bcrypt.MinCost})
	require.NoError(t, err)
	ctx := t.Context()
	u, err := svc.Create(ctx, users.Input{Email: "ada@example.com", Password: "a long enough password"})
	require.NoError(t, err)
	old, err := svc.StartSession(ctx, u.ID)
	require.NoError(t, err)
	_, err = svc.ResetLink(ctx, u.ID)
	require.NoError(t, err)
	clock.Advance(users.DefaultLinkLifetime)
	fresh, err := svc.StartSession(ctx, u.ID)
	require.NoError(t, err)

	startWorker(t, r, WorkerOptions{Concurrency: 2, ShutdownTimeout: time.Second}, Deps{Users: svc})
	task, opts := NewUsersSweepTask()
	sweepOnce(t, newClient(t, r), UsersSweepSource{}, "@every 1h0m0s", task, opts)
	require.Equal(t, []string{fresh.ID}, d.Strings(t, `SELECT id FROM user_sessions`), "the idle session %s went", old.ID)
	require.Empty(t, d.Strings(t, `SELECT purpose FROM user_links`), "the expired link went")
}
