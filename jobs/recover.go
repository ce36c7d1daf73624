package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Tasks of a dead worker.
//
// asynq leases every task a worker runs: the task's id sits in the sorted
// set asynq:{<queue>}:lease, scored by the unix second the lease ends, and
// the worker's heartbeat moves that to now + 30 s every 5 s. A worker that
// dies (SIGKILL, a lost machine) stops extending, and asynq's recoverer
// runs the task again once its lease ended more than 30 s ago, looking
// once a minute: a dead worker's deliveries came back 55 s to two minutes
// after its death, and none of those numbers can be set.
//
// So each worker also runs a recoverer of its own, every leaseCheckEvery:
// a task whose lease ended leaseSkew ago goes back to the front of its
// queue's pending list, as asynq's own shutdown hands back a task it did
// not finish (its Requeue), and the next free worker takes it. A live
// worker's lease never ends that early: its heartbeat keeps it 25–30 s
// ahead of its clock (24 in whole seconds), so only a clock 25 s behind
// the recoverer's, or a heartbeat 25 s late (when asynq itself is about to
// give the task up), could make it look expired. A dead worker's lease
// ends 25–30 s after its death (the last extension was up to 5 s before);
// its tasks run again 26–32 s after it.
// The script mirrors asynq v0.26.0's key layout (internal/rdb: the lease
// set, the active list, the task hash and its state field) and leaves the
// task's message alone; TestRecovererMatchesAsynqKeys fails if a new asynq
// changes what it relies on.
const (
	leaseCheckEvery = time.Second
	leaseSkew       = time.Second
	// leaseBatch bounds the tasks one run of the script moves per queue.
	leaseBatch = 1000
)

// recoverLeasesCmd moves tasks whose lease ended back to pending.
//
// KEYS[1] -> asynq:{<queue>}:lease
// KEYS[2] -> asynq:{<queue>}:active
// KEYS[3] -> asynq:{<queue>}:pending
// ARGV[1] -> cutoff, unix seconds: leases that ended then or before
// ARGV[2] -> task key prefix, asynq:{<queue>}:t:
// ARGV[3] -> at most this many tasks
//
// A lease whose task is gone (its hash deleted) is only dropped, with its
// entry in the active list: nothing can run it, and left there it would
// hold a place in every later run.
var recoverLeasesCmd = redis.NewScript(`
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[3]))
local moved = 0
for _, id in ipairs(ids) do
	redis.call("ZREM", KEYS[1], id)
	local active = redis.call("LREM", KEYS[2], 0, id)
	local key = ARGV[2] .. id
	if active > 0 and redis.call("HGET", key, "state") == "active" then
		redis.call("RPUSH", KEYS[3], id)
		redis.call("HSET", key, "state", "pending")
		moved = moved + 1
	end
end
return moved`)

// leaseKeys are the keys recoverLeasesCmd takes for a queue, as asynq
// v0.26.0 names them (internal/base: LeaseKey, ActiveKey, PendingKey,
// TaskKeyPrefix).
func leaseKeys(queue string) (keys []string, taskPrefix string) {
	p := "asynq:{" + queue + "}:"
	return []string{p + "lease", p + "active", p + "pending"}, p + "t:"
}

// recoverLeases moves the tasks of queues whose lease ended by cutoff back
// to pending, and returns how many it moved.
func recoverLeases(ctx context.Context, r redis.UniversalClient, cutoff time.Time, queues ...string) (int, error) {
	total := 0
	for _, q := range queues {
		keys, prefix := leaseKeys(q)
		n, err := recoverLeasesCmd.Run(ctx, r, keys, cutoff.Unix(), prefix, leaseBatch).Int()
		if err != nil {
			return total, fmt.Errorf("jobs: recovering tasks of dead workers on queue %s: %w", q, err)
		}
		total += n
	}
	return total, nil
}

// nameQueues lists the queues in asynq:queues (asynq v0.26.0's
// base.AllQueues) again. asynq's client adds a queue there once per
// process, on its first enqueue, and its inspector knows no queue that is
// not there: after Redis lost its data (a restart without persistence)
// the readiness ping, run-now and the queue metrics failed with "queue not
// found" until every process restarted. One command per second.
func nameQueues(ctx context.Context, r redis.UniversalClient) error {
	if err := r.SAdd(ctx, "asynq:queues", QueueDefault, QueueCritical, QueueLow).Err(); err != nil {
		return fmt.Errorf("jobs: naming the queues: %w", err)
	}
	return nil
}

// allQueues are the queues a worker takes tasks from.
var allQueues = []string{QueueDefault, QueueCritical, QueueLow}

// runRecoverer recovers dead workers' tasks every leaseCheckEvery until
// ctx ends.
func runRecoverer(ctx context.Context, r redis.UniversalClient, log *slog.Logger) {
	tick := time.NewTicker(leaseCheckEvery)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := recoverLeases(ctx, r, time.Now().Add(-leaseSkew), allQueues...)
		if err == nil {
			err = nameQueues(ctx, r)
		}
		switch {
		case err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled):
			if !failing { // once per outage: Redis is down, and everything says so
				log.Warn("looking for tasks of dead workers", "error", err)
			}
			failing = true
			continue
		case n > 0:
			log.Warn("tasks of a dead worker went back to the queue", "count", n)
		}
		failing = false
	}
}
