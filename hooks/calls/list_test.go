package calls_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/invalid"
)

// The recent calls come newest first, a page at a time, with the status
// of their answer.
func TestRecentCallsComeNewestFirstByPage(t *testing.T) {
	t.Parallel()
	b := apptest.SetupCalls(t, nil)
	crm := apptest.NewReceiver(t, apptest.AnswerStatuses(http.StatusCreated, http.StatusNotFound, http.StatusAccepted))
	conn := b.BearerConnection(t, crm.URL, nil)
	var ids []string
	for _, path := range []string{"a", "b", "c"} {
		c := b.Req(t, http.MethodPost, "/v1/calls", map[string]any{"connection_id": conn, "method": "POST", "path": path, "wait": 10}, http.StatusOK)
		ids = append(ids, c["id"].(string))
	}
	ctx := context.Background()
	first, next, err := b.Calls.List(ctx, "", 2)
	require.NoError(t, err)
	require.Len(t, first, 2)
	require.NotEmpty(t, next)
	rest, last, err := b.Calls.List(ctx, next, 2)
	require.NoError(t, err)
	require.Empty(t, last)
	got := append(first, rest...)
	require.Equal(t, []string{ids[2], ids[1], ids[0]}, []string{got[0].ID, got[1].ID, got[2].ID})
	require.Equal(t, []string{"c", "b", "a"}, []string{got[0].Path, got[1].Path, got[2].Path})
	require.Equal(t, []int{http.StatusAccepted, http.StatusNotFound, http.StatusCreated}, []int{got[0].LastStatus, got[1].LastStatus, got[2].LastStatus})
	require.Equal(t, "failed", got[1].State, "a 404 fails the call")
	require.Equal(t, conn, got[0].ConnectionID)
	require.NotNil(t, got[0].FinishedAt)

	_, _, err = b.Calls.List(ctx, "not a cursor", 2)
	_, bad := invalid.As(err)
	require.True(t, bad, "%v", err)
}
