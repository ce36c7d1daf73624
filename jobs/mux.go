package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/internal/retry"
	"github.com/liaison/liaison/internal/users"
)

// Deps are the domain services that task handlers call. Later work adds to
// it; every field is set in one place, cmd/liaison's wiring.
type Deps struct {
	// Client enqueues follow-up tasks.
	Client *Client

	Imports      *importer.Store
	ImportRunner *importer.Runner

	// Connections refreshes tokens (connections:sweep).
	Connections *connections.Service

	// Hooks runs deliveries of action hooks, event webhooks and callbacks.
	Hooks *hooks.Service
	// Calls runs API calls.
	Calls *calls.Service

	// Users sweeps the web UI's sessions and links (users:sweep).
	Users *users.Service
}

// newMux registers every task handler. It is the one place that does.
// runs is what the delivery handlers share.
func newMux(deps Deps, runs *deliveryRuns, log *slog.Logger) *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.Use(neverRetry)
	mux.HandleFunc(TypePing, handlePing)
	if deps.Hooks != nil {
		mux.Handle(TypeDeliverySend, handleDelivery(deps.Hooks, runs))
		mux.Handle(TypeDeliveryBatch, handleDeliveryBatch(deps.Hooks, deps.Client, runs, log))
		mux.Handle(TypeDeliverySweep, handleDeliverySweep(deps.Hooks))
		mux.Handle(TypeDeliveryClean, handleDeliveryClean(deps.Hooks))
	}
	if deps.Calls != nil {
		mux.Handle(TypeCallSend, handleCall(deps.Calls))
		mux.Handle(TypeCallSweep, handleCallSweep(deps.Calls))
		mux.Handle(TypeCallClean, handleCallClean(deps.Calls))
	}
	if deps.Connections != nil {
		mux.Handle(TypeConnectionsSweep, handleConnectionsSweep(deps.Connections))
	}
	if deps.Users != nil {
		mux.Handle(TypeUsersSweep, handleUsersSweep(deps.Users))
	}
	if deps.ImportRunner != nil {
		mux.Handle(TypeImportRun, handleImportRun(deps.ImportRunner))
		mux.Handle(TypeImportSchedule, handleImportSchedule(deps.Imports, deps.Client, log))
	}
	return mux
}

// neverRetry archives a task whose handler returned retry.ErrNever, at once:
// running it again cannot help (a payload that does not decode, a run
// deleted with its import). The rest of the vocabulary asynq reads
// through the worker's RetryDelayFunc and IsFailure (queue.go).
func neverRetry(h asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		err := h.ProcessTask(ctx, t)
		if errors.Is(err, retry.ErrNever) {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		return err
	})
}
