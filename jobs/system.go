package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/hibiken/asynq"

	"github.com/liaison/liaison/internal/id"
)

// TypePing is a no-op task that proves a worker is taking work off the
// queue: the web process enqueues it for GET /readyz?worker=1 and waits for
// the result, which names the process that ran it.
const TypePing = "system:ping"

// PingResult is what the ping handler writes as the task's result.
type PingResult struct {
	Host string    `json:"host"`
	PID  int       `json:"pid"`
	At   time.Time `json:"at"`
}

// NewPingTask makes a ping task with a unique id.
func NewPingTask() (*asynq.Task, []asynq.Option) {
	return asynq.NewTask(TypePing, nil), []asynq.Option{
		asynq.TaskID(id.New("ping")), asynq.Queue(QueueCritical), asynq.MaxRetry(0),
		asynq.Timeout(5 * time.Second), asynq.Retention(time.Minute),
	}
}

func handlePing(_ context.Context, t *asynq.Task) error {
	host, _ := os.Hostname()
	b, err := json.Marshal(PingResult{Host: host, PID: os.Getpid(), At: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("encoding ping result: %w", err)
	}
	if _, err := t.ResultWriter().Write(b); err != nil {
		return fmt.Errorf("writing ping result: %w", err)
	}
	return nil
}

// PingWorker enqueues a ping and waits for a worker to answer it.
func (c *Client) PingWorker(ctx context.Context) (PingResult, error) {
	t, opts := NewPingTask()
	info, err := c.Enqueue(ctx, t, opts...)
	if err != nil {
		return PingResult{}, err
	}
	raw, err := c.WaitResult(ctx, info.Queue, info.ID)
	if err != nil {
		return PingResult{}, fmt.Errorf("waiting for a worker: %w", err)
	}
	var res PingResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return PingResult{}, fmt.Errorf("reading ping result: %w", err)
	}
	return res, nil
}
