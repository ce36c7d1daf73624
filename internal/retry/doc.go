// Package retry is Liaison's one vocabulary for "not now, later" and
// "never". Domain packages (connections, hooks, hooks/calls, importer)
// return these values and never import asynq; jobs is the one place that
// reads them and maps them to the queue, through its RetryDelayFunc, its
// IsFailure (jobs/queue.go) and a middleware on its mux that adds
// asynq.SkipRetry (jobs/mux.go).
//
// Three kinds of error, decided with errors.As and errors.Is:
//
//   - *Later: the work cannot be done now; run it again After. A Later
//     without Err is a postponement (a limit, a share of the worker's
//     slots, an open circuit, a connection that needs a person to
//     reconnect it): it uses up no attempt and the queue counts no
//     failure. A Later with Err is a retry after a failure (an attempt that
//     failed, made again on its schedule): the queue counts it as failed.
//     Reason says why, in words for people.
//   - ErrNever (errors.Is), made with Never or matched by an error type's
//     own Is (connections.RefusedError): running the work again cannot
//     help (a refused destination, a body that cannot be rendered, a task
//     whose run was deleted). Where it ends a task, the queue archives it
//     without a retry.
//   - any other error: the work could not even be judged (the database or
//     Redis did not answer); the queue runs it again after its own backoff.
//
// nil means done: succeeded, or failed and recorded where a person sees it.
//
// A sender that answers a Later (connections, when a connection needs
// reauthorization: its ReauthError is a Later to errors.As) gives no wait
// of its own: After is zero, and the work that waits decides when it looks
// again (hooks' ReauthRecheck, importer's PostponeFor), woken sooner by
// connection.connected.
//
// # Files
//
//   - retry.go: Later, ErrNever and Never.
package retry
