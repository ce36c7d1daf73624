package importer

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/retry"
)

// Sender sends a request through a connection (connectionID "" for a plain
// public URL). connections.Service satisfies it; an error that means the
// connection must be reauthorized is a *retry.Later (internal/retry).
type Sender interface {
	Do(ctx context.Context, connectionID string, req *http.Request) (*http.Response, error)
}

// Defaults of RunnerOptions, applied by NewRunner to the fields left zero.
const (
	// DefaultProgressEvery is RunnerOptions.ProgressEvery.
	DefaultProgressEvery = 2 * time.Second
	// DefaultPostponeFor is RunnerOptions.PostponeFor.
	DefaultPostponeFor = 30 * time.Second
	// DefaultAbandonedAfter is RunnerOptions.AbandonedAfter.
	DefaultAbandonedAfter = 5 * time.Second
	// DefaultBatchSize is RunnerOptions.BatchSize.
	DefaultBatchSize = 500
)

// RunnerOptions configure a Runner. Store and Sender are required.
type RunnerOptions struct {
	// Store holds the imports, their runs and the catalogue; the ends of
	// runs are told through its Events.
	Store *Store
	// Sender fetches the feeds (connections.Service).
	Sender Sender
	// Log gets structured lines; never a secret. Default: discard.
	Log *slog.Logger
	// ProgressEvery is how often a running run reports progress (and
	// notices a cancellation). Default DefaultProgressEvery, 2 s.
	ProgressEvery time.Duration
	// BatchSize is how many items are upserted at once. Default
	// DefaultBatchSize, 500.
	BatchSize int
	// PostponeFor is how long a run waits for a connection to be
	// reconnected before it looks again. Default DefaultPostponeFor, 30 s.
	PostponeFor time.Duration
	// AbandonedAfter is how long a worker that finds a queued run flagged
	// for cancelling waits for whoever flagged it to end it, before ending
	// it itself. Default DefaultAbandonedAfter, 5 s.
	AbandonedAfter time.Duration
}

// validate checks what is set: the required parts, and no negative
// duration or count (zero means the default).
func (o RunnerOptions) validate() error {
	if err := invalid.Required("importer", invalid.Need("Store", o.Store != nil), invalid.Need("Sender", o.Sender != nil)); err != nil {
		return err
	}
	if err := invalid.NotNegative("importer", []invalid.Setting[time.Duration]{
		invalid.Named("ProgressEvery", o.ProgressEvery), invalid.Named("PostponeFor", o.PostponeFor),
		invalid.Named("AbandonedAfter", o.AbandonedAfter),
	}); err != nil {
		return err
	}
	return invalid.NotNegative("importer", []invalid.Setting[int]{invalid.Named("BatchSize", o.BatchSize)})
}

// withDefaults fills what is unset; validate has refused what is negative.
func (o RunnerOptions) withDefaults() RunnerOptions {
	o.ProgressEvery = cmp.Or(o.ProgressEvery, DefaultProgressEvery)
	o.BatchSize = cmp.Or(o.BatchSize, DefaultBatchSize)
	o.PostponeFor = cmp.Or(o.PostponeFor, DefaultPostponeFor)
	o.AbandonedAfter = cmp.Or(o.AbandonedAfter, DefaultAbandonedAfter)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Runner executes runs. Their ends are told through the store's Events.
type Runner struct{ opts RunnerOptions }

// NewRunner builds a runner.
func NewRunner(opts RunnerOptions) (*Runner, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Runner{opts: opts.withDefaults()}, nil
}

// endAbandoned deals with a run that could not be started: it ended
// meanwhile, or it is queued with the cancel flag. Whoever set the flag
// (CancelRun, FailQueued) ends the run a moment later; a process that died
// in between would leave it queued for good, and every later run of its
// import refused as overlapping. So a run still queued after
// AbandonedAfter is ended here, as cancelled. (Should the flagger only
// have been slow, the end is told twice; events are at least once.)
func (rn *Runner) endAbandoned(ctx context.Context, runID string) error {
	deadline := time.Now().Add(rn.opts.AbandonedAfter)
	for {
		r, err := rn.opts.Store.GetRun(ctx, runID)
		if err != nil || r.Status != StatusQueued {
			return err
		}
		if !time.Now().Before(deadline) {
			rn.opts.Log.WarnContext(ctx, "ending a run left queued with its cancel flag set", "run_id", runID)
			_, err := rn.opts.Store.endQueued(ctx, runID, StatusCancelled, abandonedMessage)
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(100*time.Millisecond, rn.opts.AbandonedAfter)):
		}
	}
}

// errCancelled ends a run that a person cancelled.
var errCancelled = errors.New("cancelled")

// Execute runs a queued run to its end. It returns a *retry.Later, with
// no failure, when the run must wait (its connection needs
// reauthorization), and retry.ErrNever when the run is gone (deleted with
// its import); every other outcome, failures included, is recorded on the
// run and returns nil, so the queue does not retry what a person should
// look at.
func (rn *Runner) Execute(ctx context.Context, runID string) error {
	err := rn.execute(ctx, runID)
	if errors.Is(err, ErrNotFound) {
		return retry.Never(err) // deleted with its import: nothing is left to run
	}
	return err
}

func (rn *Runner) execute(ctx context.Context, runID string) error {
	run, err := rn.opts.Store.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	if run.Status != StatusQueued && run.Status != StatusRunning {
		return nil // cancelled while queued, or finished by an earlier delivery of the task
	}
	im, err := rn.opts.Store.Get(ctx, run.ImportID)
	if err != nil {
		return err
	}
	started := rn.opts.Store.now()
	// A run found "running" is one whose worker died: the queue hands its
	// task to another worker only after the first one's lease ran out. It
	// starts over; upserts are idempotent, so the counts come out right.
	// A queued run with the cancel flag is never started: whoever set the
	// flag ends it (CancelRun, FailQueued), or, if that process died,
	// endAbandoned does.
	res, err := rn.opts.Store.db.ExecContext(ctx, `UPDATE import_runs SET status = $1, started_at = $2, message = '', bytes = 0,
		items = 0, created = 0, updated = 0, unchanged = 0, removed = 0, bad = 0, errors = '[]'
		WHERE id = $3 AND (status = $1 OR (status = $4 AND cancel_requested = $5))`, StatusRunning, started, runID, StatusQueued, false)
	if err != nil {
		return fmt.Errorf("importer: starting run: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return rn.endAbandoned(ctx, runID)
	}
	// What the database was reset to above, in memory too: a run started
	// over must not count its first try's items again.
	run.Status, run.StartedAt, run.Message = StatusRunning, &started, ""
	run.Bytes, run.BytesTotal, run.Items, run.Counts, run.Errors = 0, nil, 0, Counts{}, []ErrorEntry{}
	log := rn.opts.Log.With("import_id", im.ID, "run_id", run.ID)

	tctx, cancel := context.WithTimeout(ctx, im.timeLimit)
	defer cancel()
	// A cancellation is noticed with each progress report, and also while
	// the feed stalls and no report is due: watchCancel ends rctx.
	rctx, stop := context.WithCancelCause(tctx)
	defer stop(nil)
	go rn.watchCancel(rctx, runID, stop)
	ex := &execution{rn: rn, im: im, run: &run, log: log, lastFlush: time.Now()}
	status, msg, err := ex.do(rctx)
	if post, ok := errors.AsType[*retry.Later](err); ok {
		// A run cancelled while it ran is not put back in the queue: no
		// worker would start it again, and its Runner owns its end.
		res, uerr := rn.opts.Store.db.ExecContext(context.WithoutCancel(ctx), `UPDATE import_runs SET status = $1, started_at = NULL, message = $2
			WHERE id = $3 AND cancel_requested = $4`, StatusQueued, post.Reason, runID, false)
		if uerr != nil {
			return fmt.Errorf("importer: postponing run: %w", uerr)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			log.Info("import run postponed", "reason", post.Reason)
			return post
		}
		err = errCancelled
	}
	if err != nil {
		// The read that failed when a context ended says only "use of closed
		// network connection"; the contexts say why.
		switch {
		case errors.Is(err, errCancelled) || errors.Is(context.Cause(rctx), errCancelled) ||
			(ctx.Err() != nil && rn.opts.Store.cancelRequested(context.WithoutCancel(ctx), runID)):
			status, msg = StatusCancelled, "cancelled while running"
		case ctx.Err() != nil:
			// The worker is stopping: the queue hands the task to another
			// worker, which starts the run over.
			return ctx.Err()
		case errors.Is(rctx.Err(), context.DeadlineExceeded):
			status, msg = StatusFailed, fmt.Sprintf("the run reached its time limit of %s", im.timeLimit)
		default:
			status, msg = StatusFailed, err.Error()
		}
	}
	return ex.finish(context.WithoutCancel(ctx), status, msg)
}

// watchCancel ends a run's context with errCancelled when a person asks to
// cancel it, looking every ProgressEvery until the run ends.
func (rn *Runner) watchCancel(ctx context.Context, runID string, stop context.CancelCauseFunc) {
	t := time.NewTicker(rn.opts.ProgressEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if rn.opts.Store.cancelRequested(ctx, runID) {
				stop(errCancelled)
				return
			}
		}
	}
}

// execution is the state of one running run.
type execution struct {
	rn        *Runner
	im        Import
	run       *Run
	log       *slog.Logger
	cat       *catalog
	lastFlush time.Time
	counter   *countingReader
}

// do fetches and imports; it returns the final status and message, or an
// error that decides them.
func (ex *execution) do(ctx context.Context) (string, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ex.im.URL, nil)
	if err != nil {
		return "", "", fmt.Errorf("the feed URL is not usable: %w", err)
	}
	if ex.im.etag != "" {
		req.Header.Set("If-None-Match", ex.im.etag)
	}
	if ex.im.lastModified != "" {
		req.Header.Set("If-Modified-Since", ex.im.lastModified)
	}
	// Asked for explicitly, gzip is not undone by the transport: the body is
	// decompressed below, where the bytes read can be counted.
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Accept", "application/xml, text/xml, application/json, text/csv, */*;q=0.5")
	resp, err := ex.rn.opts.Sender.Do(ctx, ex.im.ConnectionID, req)
	if err != nil {
		if later, ok := errors.AsType[*retry.Later](err); ok {
			// The connection needs reconnecting, or is paused: the sender's
			// reason says which.
			return "", "", &retry.Later{After: ex.rn.opts.PostponeFor, Reason: "waiting: " + cmp.Or(later.Reason, "connection "+ex.im.ConnectionID+" cannot be used now")}
		}
		return "", "", fmt.Errorf("could not fetch the feed: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return StatusUnchanged, "the feed has not changed since the last run (HTTP 304)", nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return "", "", fmt.Errorf("the feed answered HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(excerpt)))
	}
	if resp.ContentLength > 0 {
		total := resp.ContentLength
		ex.run.BytesTotal = &total
	}
	ex.counter = &countingReader{r: resp.Body}
	body, err := decompress(ex.counter, resp.Header.Get("Content-Encoding"))
	if err != nil {
		return "", "", err
	}
	parser, err := NewParser(body, ex.im.Format, ParseOptions{ItemPath: ex.im.ItemPath})
	if err != nil {
		return "", "", fmt.Errorf("the feed cannot be read: %w", err)
	}
	ex.cat = newCatalog(ex.rn.opts.Store, ex.im.ID, ex.run.ID+"."+strconv.FormatInt(ex.run.StartedAt.UnixNano(), 36))
	batch := make([]entry, 0, ex.rn.opts.BatchSize)
	var enc bytes.Buffer
	encoder := json.NewEncoder(&enc)
	encoder.SetEscapeHTML(false)
	for {
		// A full batch is upserted; a partial one too once ProgressEvery
		// has passed, so a slow feed still shows progress (flush reports it).
		if len(batch) == cap(batch) || time.Since(ex.lastFlush) >= ex.rn.opts.ProgressEvery {
			if err := ex.flush(ctx, batch); err != nil {
				return "", "", err
			}
			batch = batch[:0]
		}
		it, err := parser.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *RowError
		if errors.As(err, &rowErr) {
			ex.run.Items++
			ex.bad(rowErr)
			continue
		}
		if err != nil {
			return "", "", fmt.Errorf("the feed cannot be read: %w", err)
		}
		ex.run.Items++
		extID, fields, err := ex.im.Mapping.Apply(it)
		if errors.As(err, &rowErr) {
			if rowErr.Pos == 0 {
				rowErr.Pos, rowErr.Unit = it.Pos, it.Unit
			}
			ex.bad(rowErr)
			continue
		}
		if err != nil {
			return "", "", err
		}
		// One encoding serves as both the stored fields and the content
		// hash (the same bytes ContentHash hashes).
		enc.Reset()
		if err := encoder.Encode(fields); err != nil {
			ex.bad(&RowError{Pos: it.Pos, Unit: it.Unit, Reason: "fields cannot be stored as JSON: " + err.Error()})
			continue
		}
		sum := sha256.Sum256(enc.Bytes())
		raw := bytes.TrimSuffix(bytes.Clone(enc.Bytes()), []byte("\n"))
		batch = append(batch, entry{externalID: extID, hash: sum[:], fields: raw, pos: it.Pos, unit: it.Unit})
	}
	if err := ex.flush(ctx, batch); err != nil {
		return "", "", err
	}
	if ex.run.Items == 0 {
		return StatusFailed, "the feed holds no items", nil
	}
	share := float64(ex.run.Counts.Bad) / float64(ex.run.Items)
	if share > ex.im.BadRowShare {
		return StatusFailed, fmt.Sprintf("%d of %d rows (%.1f%%) are bad, more than the import's threshold of %.1f%%; items already read were kept, none were marked removed",
			ex.run.Counts.Bad, ex.run.Items, share*100, ex.im.BadRowShare*100), nil
	}
	removed, err := ex.cat.markRemoved(ctx)
	if err != nil {
		return "", "", err
	}
	ex.run.Counts.Removed = removed
	if _, err := ex.rn.opts.Store.db.ExecContext(ctx, `UPDATE imports SET etag = $1, last_modified = $2 WHERE id = $3`,
		resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"), ex.im.ID); err != nil {
		return "", "", fmt.Errorf("importer: keeping the feed's validators: %w", err)
	}
	return StatusSucceeded, "", nil
}

func (ex *execution) bad(e *RowError) {
	ex.run.Counts.Bad++
	if len(ex.run.Errors) < maxErrorSamples {
		ex.run.Errors = append(ex.run.Errors, ErrorEntry{Position: e.Pos, Unit: string(e.Unit), Field: e.Field, Reason: e.Reason})
	}
}

// flush upserts a batch and, every ProgressEvery, reports progress and
// notices a cancellation.
func (ex *execution) flush(ctx context.Context, batch []entry) error {
	if len(batch) > 0 {
		c, err := ex.cat.upsert(ctx, batch)
		if err != nil {
			return err
		}
		ex.run.Counts.Created += c.Created
		ex.run.Counts.Updated += c.Updated
		ex.run.Counts.Unchanged += c.Unchanged
		for _, d := range c.duplicates {
			ex.bad(d)
		}
	}
	if time.Since(ex.lastFlush) < ex.rn.opts.ProgressEvery {
		return nil
	}
	ex.lastFlush = time.Now()
	cancelled, err := ex.progress(ctx)
	if err != nil {
		return err
	}
	if cancelled {
		return errCancelled
	}
	return nil
}

// progress writes the run's counters and reads whether it was cancelled.
func (ex *execution) progress(ctx context.Context) (bool, error) {
	r := ex.run
	if ex.counter != nil {
		r.Bytes = ex.counter.n
	}
	errs, _ := json.Marshal(r.Errors)
	var cancelled bool
	err := ex.rn.opts.Store.db.QueryRowContext(ctx, `UPDATE import_runs SET bytes = $1, bytes_total = $2, items = $3, created = $4,
		updated = $5, unchanged = $6, removed = $7, bad = $8, errors = $9 WHERE id = $10 RETURNING cancel_requested`,
		r.Bytes, r.BytesTotal, r.Items, r.Counts.Created, r.Counts.Updated, r.Counts.Unchanged, r.Counts.Removed, r.Counts.Bad,
		string(errs), r.ID).Scan(&cancelled)
	if err != nil {
		return false, fmt.Errorf("importer: reporting progress: %w", err)
	}
	return cancelled, nil
}

// finish writes a run's last counters and ends it (Store.end), telling of
// the end with import.completed or import.failed, cancelled runs included.
// A worker that dies before the run shows as ended runs the task again: the
// event may go out twice, but never not at all.
func (ex *execution) finish(ctx context.Context, status, msg string) error {
	if _, err := ex.progress(ctx); err != nil {
		return err
	}
	if err := ex.rn.opts.Store.end(ctx, ex.im, ex.run, StatusRunning, status, msg); err != nil {
		return err
	}
	r := ex.run
	ex.log.Info("import run finished", "status", status, "items", r.Items, "created", r.Counts.Created,
		"updated", r.Counts.Updated, "unchanged", r.Counts.Unchanged, "removed", r.Counts.Removed, "bad", r.Counts.Bad, "message", msg)
	return nil
}

// decompress undoes gzip, announced by Content-Encoding or recognised by
// its magic bytes (a .gz file served as application/octet-stream).
func decompress(r io.Reader, contentEncoding string) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(2)
	if strings.EqualFold(contentEncoding, "gzip") || (len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("the feed is not valid gzip: %w", err)
		}
		return zr, nil
	}
	return br, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
