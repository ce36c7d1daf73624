package jobs

import (
	"context"
	"testing"
	"time"

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
	task, opts := NewSweepTask()
	sweepOnce(t, newClient(t, r), ConnectionsSweepSource{}, "@every 1m0s", task, opts)
	require.Equal(t, 1, p.TokenRequestsByGrant("refresh_token"), "the token living 5 minutes was refreshed")
}
