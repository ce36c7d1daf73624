package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/hibiken/asynq"
)

// orDiscard is log, or a logger that writes nothing when log is nil: the
// default of WorkerOptions.Log and SchedulerOptions.Log.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// slogAdapter lets asynq log through slog.
type slogAdapter struct{ log *slog.Logger }

var _ asynq.Logger = slogAdapter{}

func (a slogAdapter) Debug(args ...any) { a.log.Debug(fmt.Sprint(args...)) }
func (a slogAdapter) Info(args ...any)  { a.log.Info(fmt.Sprint(args...)) }
func (a slogAdapter) Warn(args ...any)  { a.log.Warn(fmt.Sprint(args...)) }
func (a slogAdapter) Error(args ...any) {
	msg := fmt.Sprint(args...)
	if strings.Contains(msg, "connection is shared") {
		// asynq's scheduler complains on every stop that it may not close a
		// client it was given; closing it is ours to do, so this is no error.
		a.log.Debug(msg)
		return
	}
	a.log.Error(msg)
}

// Fatal keeps asynq's meaning: the process cannot go on.
func (a slogAdapter) Fatal(args ...any) {
	a.log.Error(fmt.Sprint(args...), "fatal", true)
	os.Exit(1)
}

// asynqLevel maps the handler's enabled level onto asynq's.
func asynqLevel(log *slog.Logger) asynq.LogLevel {
	ctx := context.Background()
	switch {
	case log.Enabled(ctx, slog.LevelDebug):
		return asynq.DebugLevel
	case log.Enabled(ctx, slog.LevelInfo):
		return asynq.InfoLevel
	case log.Enabled(ctx, slog.LevelWarn):
		return asynq.WarnLevel
	}
	return asynq.ErrorLevel
}
