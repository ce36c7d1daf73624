package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/retry"
)

// Queue names. Deliveries have the default queue to themselves; API calls
// (and the readiness ping) are critical, imports and sweeps low.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

// A worker runs two asynq servers: one takes deliveries off the default
// queue, the other takes the critical and low queues, critical first six
// times out of seven.
//
// Why two: an asynq server takes tasks one at a time, from a single loop,
// running one script on Redis per queue it looks at until one has a task,
// and it looks at its queues in an order drawn by their weights. With all
// three queues on one server, a delivery cost two scripts on average (the
// critical queue, usually empty, was most often looked at first), and that
// one loop bounded a worker's deliveries. With the default queue on a
// server of its own, asynq's empty-handler rate (BenchmarkEmptyHandler)
// went up by about half (figures: README, Performance). It also keeps a
// flood of deliveries from holding every slot that an API call, which a
// person may be waiting on, needs.
var (
	deliveryQueues = map[string]int{QueueDefault: 1}
	otherQueues    = map[string]int{QueueCritical: 6, QueueLow: 1}
)

// Defaults of WorkerOptions, applied by NewWorker to the fields left zero.
const (
	// DefaultDeliveryConcurrency is WorkerOptions.DeliveryConcurrency
	// (DELIVERY_CONCURRENCY): a delivery mostly waits on a receiver, and
	// the runs that wait together share their database reads and writes.
	DefaultDeliveryConcurrency = 200
	// DefaultConcurrency is WorkerOptions.Concurrency (WORKER_CONCURRENCY).
	DefaultConcurrency = 50
	// DefaultDeliveryPoll is WorkerOptions.DeliveryPoll
	// (DELIVERY_POLL_INTERVAL); newWorker says why it is so short.
	DefaultDeliveryPoll = 2 * time.Millisecond
	// DefaultShutdownTimeout is WorkerOptions.ShutdownTimeout
	// (SHUTDOWN_TIMEOUT), which also bounds the HTTP servers' stop.
	DefaultShutdownTimeout = 25 * time.Second
)

// WorkerOptions configure a worker process: its asynq servers and the
// handlers they run. Redis is required.
type WorkerOptions struct {
	// Redis is the shared connection the servers run on.
	Redis *Redis
	// Deps are the domain services the handlers call; a handler whose
	// service is nil is not registered. Deps.Client defaults to a client
	// on Redis (batches of deliveries hand on what they do not finish).
	Deps Deps
	// Log gets the worker's lines and asynq's. Default: discard.
	Log *slog.Logger

	// DeliveryConcurrency is how many deliveries run at once, those of
	// batches and those alone together; it is also how many tasks the
	// server of the default queue runs at once. Default
	// DefaultDeliveryConcurrency, 200.
	DeliveryConcurrency int
	// Concurrency is how many of the other tasks (API calls, imports,
	// sweeps) run at once. Default DefaultConcurrency, 50.
	Concurrency int
	// DeliveryPoll is how often the deliveries' server looks for tasks when
	// its queue is empty. Default DefaultDeliveryPoll, 2 ms.
	DeliveryPoll time.Duration
	// ShutdownTimeout is how long in-flight tasks get to finish on a stop
	// before they are handed back to the queue. Default
	// DefaultShutdownTimeout, 25 s.
	ShutdownTimeout time.Duration
}

// Worker runs task handlers.
type Worker struct {
	deliveries, others *asynq.Server
	mux                *asynq.ServeMux
	// stopping tells the delivery handlers the worker stops: batches stop
	// starting deliveries and go back to the queue.
	stopping func()
	// redis and log serve the recoverer of dead workers' tasks
	// (recover.go), which runs from Start to Shutdown.
	redis          *Redis
	log            *slog.Logger
	stopRecoverer  context.CancelFunc
	recovererEnded chan struct{}
}

// NewWorker builds the asynq servers on the shared Redis client.
func NewWorker(opts WorkerOptions) (*Worker, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if opts.Deps.Client == nil {
		opts.Deps.Client = NewClient(opts.Redis)
	}
	runs := newDeliveryRuns(opts.DeliveryConcurrency)
	w := newWorker(opts, newMux(opts.Deps, runs, opts.Log))
	w.stopping = runs.stop
	return w, nil
}

// validate checks what is set: Redis, and no negative count or duration
// (zero means the default).
func (o WorkerOptions) validate() error {
	if err := invalid.Required("jobs: worker", invalid.Need("Redis", o.Redis != nil)); err != nil {
		return err
	}
	if err := invalid.NotNegative("jobs: worker", []invalid.Setting[time.Duration]{
		invalid.Named("DeliveryPoll", o.DeliveryPoll), invalid.Named("ShutdownTimeout", o.ShutdownTimeout),
	}); err != nil {
		return err
	}
	return invalid.NotNegative("jobs: worker", []invalid.Setting[int]{
		invalid.Named("DeliveryConcurrency", o.DeliveryConcurrency), invalid.Named("Concurrency", o.Concurrency),
	})
}

// withDefaults fills what is unset; validate has refused what is negative.
func (o WorkerOptions) withDefaults() WorkerOptions {
	o.Log = orDiscard(o.Log)
	o.DeliveryConcurrency = cmp.Or(o.DeliveryConcurrency, DefaultDeliveryConcurrency)
	o.Concurrency = cmp.Or(o.Concurrency, DefaultConcurrency)
	o.ShutdownTimeout = cmp.Or(o.ShutdownTimeout, DefaultShutdownTimeout)
	o.DeliveryPoll = cmp.Or(o.DeliveryPoll, DefaultDeliveryPoll)
	return o
}

// newWorker builds a worker that runs mux; opts.Deps is mux's business.
func newWorker(opts WorkerOptions, mux *asynq.ServeMux) *Worker {
	opts = opts.withDefaults()
	r := opts.Redis
	log := opts.Log.With("component", "worker")
	// asynq polls Redis when its queues are empty, sleeping between half
	// and one and a half TaskCheckInterval; its default of 1 s would put up
	// to 1.5 s between an event and its delivery. The deliveries' server
	// polls every opts.DeliveryPoll, 2 ms by default (at most 3 ms, 1–1.5 ms
	// on average, of the 25 ms p99 target for event→delivery), for about
	// 500 cheap dequeue scripts a second while idle: against 4 ms, a lower
	// p50 and p99 in deliverybench for a few per cent more of a core in an
	// idle worker (figures: README, Performance). The other server's calls,
	// imports and sweeps wait up to 15 ms for 100 a second.
	server := func(queues map[string]int, concurrency int, taskCheck time.Duration) *asynq.Server {
		return asynq.NewServerFromRedisClient(r.UniversalClient, asynq.Config{
			Concurrency:       concurrency,
			Queues:            queues,
			TaskCheckInterval: taskCheck,
			// Retries and scheduled work (Retry-After, postponed deliveries,
			// test schedules scaled to milliseconds) are moved to their queue
			// by a forwarder that runs every DelayedTaskCheckInterval; asynq's
			// 5 s default would delay every first retry ("at once") by up to
			// 5 s. 100 ms costs one script per queue ten times a second.
			DelayedTaskCheckInterval: 100 * time.Millisecond,
			ShutdownTimeout:          opts.ShutdownTimeout,
			RetryDelayFunc:           retryDelay,
			IsFailure:                isFailure,
			Logger:                   slogAdapter{log},
			LogLevel:                 asynqLevel(log),
			ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
				if _, later := errors.AsType[*retry.Later](err); later {
					return // a scheduled retry or a postponement, recorded by its domain
				}
				id, _ := asynq.GetTaskID(ctx)
				retried, _ := asynq.GetRetryCount(ctx)
				log.Warn("task failed", "task_type", t.Type(), "task_id", id, "retried", retried, "error", err)
			}),
		})
	}
	return &Worker{
		deliveries: server(deliveryQueues, opts.DeliveryConcurrency, opts.DeliveryPoll),
		others:     server(otherQueues, opts.Concurrency, 10*time.Millisecond),
		mux:        mux,
		redis:      r,
		log:        log,
	}
}

// Domain errors steer the queue through the vocabulary of internal/retry,
// so that domain packages need not know asynq; this file and neverRetry
// (mux.go) are the one place that maps it:
//
//   - a *retry.Later says when to run the task again (retryDelay: a retry
//     schedule kept by the domain, a Retry-After, a postponement); without
//     an Err it is no failure in asynq's counts (isFailure: waiting for a
//     reconnection is not an error of the task);
//   - retry.ErrNever is archived at once, with asynq.SkipRetry (neverRetry);
//   - any other error is retried after asynq's backoff, or, for deliveries
//     and calls, deliveryRetryDelay's.
func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	later, isLater := errors.AsType[*retry.Later](err)
	switch t.Type() {
	case TypeDeliverySend, TypeDeliveryBatch, TypeCallSend:
		if isLater {
			return wholeSeconds(max(later.After, 0))
		}
		return deliveryRetryDelay(n, err, t)
	}
	if isLater {
		return max(later.After, 0)
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

func isFailure(err error) bool {
	later, isLater := errors.AsType[*retry.Later](err)
	return !isLater || later.Err != nil
}

// Start starts processing in the background.
func (w *Worker) Start() error {
	if err := w.deliveries.Start(w.mux); err != nil {
		return fmt.Errorf("jobs: starting worker: %w", err)
	}
	if err := w.others.Start(w.mux); err != nil {
		w.deliveries.Shutdown()
		return fmt.Errorf("jobs: starting worker: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.stopRecoverer, w.recovererEnded = cancel, make(chan struct{})
	go func() {
		defer close(w.recovererEnded)
		runRecoverer(ctx, w.redis.UniversalClient, w.log)
	}()
	return nil
}

// Shutdown stops taking tasks and waits up to ShutdownTimeout for the ones in
// flight; those still running then are handed back to the queue (a request
// under way then may be sent again by the worker that takes its task: keep
// SHUTDOWN_TIMEOUT above the longest request timeout). A batch of
// deliveries starts no more of its deliveries: it waits for those it
// started and goes back to the queue with the rest. The two servers stop
// side by side, so the bound holds for the worker as a whole.
func (w *Worker) Shutdown() {
	// Take no more tasks first: one taken after batches were told to stop
	// would only go back to the queue.
	w.deliveries.Stop()
	w.others.Stop()
	if w.stopRecoverer != nil {
		w.stopRecoverer()
		<-w.recovererEnded
	}
	if w.stopping != nil {
		w.stopping()
	}
	var wg sync.WaitGroup
	wg.Go(w.deliveries.Shutdown)
	wg.Go(w.others.Shutdown)
	wg.Wait()
}

// Client enqueues tasks and looks at them.
type Client struct {
	c   *asynq.Client
	ins *asynq.Inspector
	rdb redis.UniversalClient
}

// NewClient builds an enqueuing client on the shared Redis client.
func NewClient(r *Redis) *Client {
	return &Client{c: asynq.NewClientFromRedisClient(r.UniversalClient), ins: asynq.NewInspectorFromRedisClient(r.UniversalClient), rdb: r.UniversalClient}
}

// ErrUnavailable marks an error of the queue as Redis being out of reach;
// Unavailable recognises it.
var ErrUnavailable = errors.New("jobs: redis is not reachable")

// checkRedis returns err marked with ErrUnavailable when Redis does not
// answer a PING now. asynq reports a failed Redis command as text, so its
// errors alone cannot say whether Redis is down or the task was refused.
func (c *Client) checkRedis(ctx context.Context, err error) error {
	if err == nil || Unavailable(err) {
		return err
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if perr := c.rdb.Ping(pctx).Err(); perr != nil && (Unavailable(perr) || pctx.Err() != nil) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// ErrDuplicate means a task with the same id is already queued or kept.
var ErrDuplicate = errors.New("jobs: task already enqueued")

// Enqueue puts a task on its queue.
func (c *Client) Enqueue(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	info, err := c.c.EnqueueContext(ctx, t, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil, fmt.Errorf("%w: %s", ErrDuplicate, t.Type())
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: enqueuing %s: %w", t.Type(), c.checkRedis(ctx, err))
	}
	return info, nil
}

// enqueueEach queues the task that task makes of each id, the id being
// the task's; those already queued are left as they are. what names the
// work in an error.
func (c *Client) enqueueEach(ctx context.Context, what string, ids []string, task func(id string) (*asynq.Task, []asynq.Option)) error {
	for _, id := range ids {
		t, opts := task(id)
		if _, err := c.Enqueue(ctx, t, opts...); err != nil && !errors.Is(err, ErrDuplicate) {
			return fmt.Errorf("queueing %s %s: %w", what, id, err)
		}
	}
	return nil
}

// WaitResult waits until the task finishes and returns what it wrote as its
// result. The task must have been enqueued with a Retention.
func (c *Client) WaitResult(ctx context.Context, queue, id string) ([]byte, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := c.ins.GetTaskInfo(queue, id)
		if err == nil {
			switch info.State {
			case asynq.TaskStateCompleted:
				return info.Result, nil
			case asynq.TaskStateArchived:
				return nil, fmt.Errorf("jobs: task %s failed: %s", id, info.LastErr)
			}
		} else if !errors.Is(err, asynq.ErrTaskNotFound) {
			return nil, fmt.Errorf("jobs: reading task %s: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// Close releases the client; the shared Redis client stays open.
func (c *Client) Close() error {
	// Both were built from a shared redis client, which they do not close.
	_ = c.ins.Close()
	return c.c.Close()
}
