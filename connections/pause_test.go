package connections_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/retry"
)

// A paused connection sends nothing and answers a *retry.Later that says
// so; it keeps its status and tokens, Test still goes through, and
// pausing or resuming twice changes nothing.
func TestPauseAndResume(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, v := b.connectedRotating(t)
	b.requireOK(t, v.ID, "/me")
	sent := p.Requests("/api/me")

	paused, err := b.svc.Pause(t.Context(), v.ID)
	require.NoError(t, err)
	require.True(t, paused.Paused)
	require.NotNil(t, paused.PausedAt)
	require.Equal(t, connections.StatusConnected, paused.Status, "pausing keeps the status")
	again, err := b.svc.Pause(t.Context(), v.ID)
	require.NoError(t, err)
	require.Equal(t, paused.PausedAt, again.PausedAt, "pausing a paused connection changes nothing")

	_, err = b.get(t, v.ID, "/me")
	require.ErrorIs(t, err, connections.ErrPaused)
	later, ok := errors.AsType[*retry.Later](err)
	require.True(t, ok, "a paused connection postpones the work: %v", err)
	require.Equal(t, "connection "+v.ID+" is paused", later.Reason)
	require.Zero(t, later.After, "the one who waits decides when it looks again")
	require.Equal(t, sent, p.Requests("/api/me"), "nothing was sent")

	res, err := b.svc.Test(t.Context(), v.ID)
	require.NoError(t, err)
	require.True(t, res.OK, "a person can still test a paused connection: %s", res.Error)
	_, err = b.svc.Refresh(t.Context(), v.ID)
	require.NoError(t, err, "and refresh it")

	resumed, err := b.svc.Resume(t.Context(), v.ID)
	require.NoError(t, err)
	require.False(t, resumed.Paused)
	require.Nil(t, resumed.PausedAt)
	_, err = b.svc.Resume(t.Context(), v.ID)
	require.NoError(t, err, "resuming a running connection is harmless")
	b.requireOK(t, v.ID, "/me")

	require.Len(t, b.events(t, connections.EventPaused), 1, "one event per change")
	require.Len(t, b.events(t, connections.EventResumed), 1)
	_, err = b.svc.Pause(t.Context(), "conn_missing")
	require.ErrorIs(t, err, connections.ErrNotFound)
}
