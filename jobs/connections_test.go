package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/oauthfake"
)

func TestConnectionsSweepTask(t *testing.T) {
	t.Parallel()
	r, _, _, svc := openServices(t)

	p := oauthfake.New(t, oauthfake.Options{
		ClientID: "c", ClientSecret: "client-secret", ClientAuth: oauthfake.ClientSecretBasic,
		RedirectURIs: []string{testRedirect}, RequirePKCE: true, RotateRefreshTokens: true, AccessTTL: 5 * time.Minute,
	})
	ctx := context.Background()
	v, err := svc.Create(ctx, connections.Input{
		Name: new("crm"), AuthType: new(connections.AuthOAuth2Code), BaseURL: new(p.URL() + "/api"),
		ClientID: new("c"), ClientSecret: new("client-secret"), DiscoveryURL: new(p.Issuer()),
	})
	require.NoError(t, err)
	connect(t, svc, p, v.ID)

	startWorker(t, r, WorkerOptions{Concurrency: 2, ShutdownTimeout: time.Second}, Deps{Connections: svc})
	c := newClient(t, r)

	tasks, err := ConnectionsSweepSource{}.PeriodicTasks()
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Equal(t, "@every 1m", tasks[0].Cronspec)
	require.Equal(t, TypeConnectionsSweep, tasks[0].Task.Type())

	task, opts := NewSweepTask()
	info, err := c.Enqueue(ctx, task, append(opts, asynq.Retention(time.Minute))...)
	require.NoError(t, err)
	_, err = c.Enqueue(ctx, task, opts...)
	require.ErrorIs(t, err, ErrDuplicate, "unique: sweeps never pile up")

	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = c.WaitResult(wctx, info.Queue, info.ID)
	require.NoError(t, err)
	require.Equal(t, 1, p.TokenRequestsByGrant("refresh_token"), "the token living 5 minutes was refreshed")
}
