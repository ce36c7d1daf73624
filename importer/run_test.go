package importer_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/importer/feedgen"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/retry"
)

// publicSender sends plain public URLs through the SSRF guard with loopback
// opened, as Liaison does for an import without a connection.
type publicSender struct{ c *http.Client }

func (p publicSender) Do(ctx context.Context, connectionID string, req *http.Request) (*http.Response, error) {
	if connectionID != "" {
		return nil, fmt.Errorf("test sender has no connections")
	}
	return p.c.Do(req.WithContext(ctx))
}

type recorded struct {
	mu     sync.Mutex
	events []string
	data   []map[string]any
	// observed are the statuses Store.ObserveRun was told of.
	observed []string
}

// cancelledOnce checks that a run told of its end once, as cancelled
// (import.failed with status cancelled), and gives the event's data.
func (r *recorded) cancelledOnce(t *testing.T, runID string) map[string]any {
	t.Helper()
	ev, data := r.onlyEvent(t, runID)
	require.Equal(t, "import.failed", ev)
	require.Equal(t, "cancelled", data["status"])
	return data
}

func (r *recorded) observe(status string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observed = append(r.observed, status)
}

func (r *recorded) observedRuns() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.observed...)
}

func (r *recorded) Record(_ context.Context, eventType string, data map[string]any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, eventType)
	r.data = append(r.data, data)
	return nil
}

// ofRun returns the events recorded about one run, in order.
func (r *recorded) ofRun(runID string) (types []string, data []map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, d := range r.data {
		if d["run_id"] == runID {
			types, data = append(types, r.events[i]), append(data, d)
		}
	}
	return types, data
}

// onlyEvent requires that exactly one event told of the run's end and
// returns it.
func (r *recorded) onlyEvent(t *testing.T, runID string) (string, map[string]any) {
	t.Helper()
	types, data := r.ofRun(runID)
	require.Len(t, types, 1, "one event per run's end; got %v %v", types, data)
	return types[0], data[0]
}

func (r *recorded) last() (string, map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return "", nil
	}
	return r.events[len(r.events)-1], r.data[len(r.data)-1]
}

type bundle struct {
	store  *importer.Store
	runner *importer.Runner
	opts   importer.RunnerOptions // the runner's
	events *recorded
}

func setupRunner(t *testing.T, sender importer.Sender) *bundle {
	t.Helper()
	return setupRunnerOn(t, dbtest.New(t), sender)
}

// setupRunnerOn is setupRunner on a database the test made (to share it
// with a connections service).
func setupRunnerOn(t *testing.T, d dbtest.Database, sender importer.Sender) *bundle {
	t.Helper()
	ev := &recorded{}
	store, err := importer.NewStore(importer.StoreOptions{DB: d.DB, Events: ev, ObserveRun: ev.observe})
	require.NoError(t, err)
	if sender == nil {
		g := connections.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
		sender = publicSender{c: &http.Client{Transport: g.Transport(), CheckRedirect: connections.CheckRedirect(5)}}
	}
	b := &bundle{store: store, events: ev, opts: importer.RunnerOptions{Store: store, Sender: sender,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), ProgressEvery: 20 * time.Millisecond}}
	b.tune(t, func(*importer.RunnerOptions) {})
	return b
}

// tune builds the bundle's runner again with its options changed by f.
func (b *bundle) tune(t *testing.T, f func(*importer.RunnerOptions)) {
	t.Helper()
	f(&b.opts)
	r, err := importer.NewRunner(b.opts)
	require.NoError(t, err)
	b.runner = r
}

func (b *bundle) create(t *testing.T, in importer.Input) importer.Import {
	t.Helper()
	im, err := b.store.Create(context.Background(), in, nil)
	require.NoError(t, err)
	return im
}

// newRun queues a run of the import, as trigger ("manual", "schedule")
// asked for it.
func (b *bundle) newRun(t *testing.T, importID, trigger string) importer.Run {
	t.Helper()
	run, err := b.store.NewRun(context.Background(), importID, trigger)
	require.NoError(t, err)
	return run
}

// getRun reads a run as it stands now.
func (b *bundle) getRun(t *testing.T, runID string) importer.Run {
	t.Helper()
	run, err := b.store.GetRun(context.Background(), runID)
	require.NoError(t, err)
	return run
}

// run runs the import once, to its end, and gives the run as it ended.
func (b *bundle) run(t *testing.T, importID string) importer.Run {
	t.Helper()
	run := b.newRun(t, importID, "manual")
	require.NoError(t, b.runner.Execute(context.Background(), run.ID))
	return b.getRun(t, run.ID)
}

// execute runs a run in the background, as a worker does; its error
// arrives on the channel.
func (b *bundle) execute(ctx context.Context, runID string) <-chan error {
	done := make(chan error, 1)
	go func() { done <- b.runner.Execute(ctx, runID) }()
	return done
}

// cancelRunning cancels a run that Execute (answering on done) runs, waits
// for Execute to return and gives the run as it ended: cancelled.
func (b *bundle) cancelRunning(t *testing.T, runID string, done <-chan error) importer.Run {
	t.Helper()
	ctx := context.Background()
	_, err := b.store.CancelRun(ctx, runID)
	require.NoError(t, err)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the run did not stop after cancellation")
	}
	r := b.getRun(t, runID)
	require.Equal(t, importer.StatusCancelled, r.Status, r.Message)
	return r
}

// feedServer serves whatever body() returns, with an ETag when etag is set
// and 304 for a matching If-None-Match.
func feedServer(t *testing.T, body func() []byte, etag string, header http.Header) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if etag != "" {
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", etag)
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		_, _ = w.Write(body())
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func generated(t *testing.T, format string, items int, changed float64) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, feedgen.Write(&buf, feedgen.Options{Format: format, Items: items, Seed: 7, ChangedPercent: changed}))
	return buf.Bytes()
}

func TestImportCountsCreatedUpdatedUnchangedRemoved(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	feed := generated(t, "csv", 300, 0)
	srv, _ := feedServer(t, func() []byte { return feed }, "", nil)
	im := b.create(t, importer.Input{Name: new("csv"), URL: new(srv.URL + "/feed.csv"), Format: new("csv")})

	run := b.run(t, im.ID)
	require.Equal(t, importer.StatusSucceeded, run.Status, run.Message)
	require.EqualValues(t, 300, run.Items)
	require.Equal(t, importer.Counts{Created: 300}, run.Counts)
	require.EqualValues(t, len(feed), run.Bytes)
	require.NotNil(t, run.StartedAt)
	require.NotNil(t, run.FinishedAt)
	ev, data := b.events.last()
	require.Equal(t, "import.completed", ev)
	require.Equal(t, run.ID, data["run_id"])

	run = b.run(t, im.ID)
	require.Equal(t, importer.Counts{Unchanged: 300}, run.Counts)

	feed = generated(t, "csv", 300, 10)
	run = b.run(t, im.ID)
	require.Greater(t, run.Counts.Updated, int64(10))
	require.Equal(t, int64(300), run.Counts.Updated+run.Counts.Unchanged)

	// A shorter feed: the missing items are marked removed.
	feed = generated(t, "csv", 250, 10)
	run = b.run(t, im.ID)
	require.EqualValues(t, 50, run.Counts.Removed)

	items, more, err := b.store.Items(context.Background(), im.ID, importer.ItemRemoved, "", 100)
	require.NoError(t, err)
	require.False(t, more)
	require.Len(t, items, 50)
	active, more, err := b.store.Items(context.Background(), im.ID, importer.ItemActive, "", 100)
	require.NoError(t, err)
	require.True(t, more)
	require.Len(t, active, 100)
	require.Contains(t, string(active[0].Fields), "price")
}

func TestNotModifiedIsAnUnchangedRun(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	feed := generated(t, "jsonl", 20, 0)
	srv, hits := feedServer(t, func() []byte { return feed }, `"v1"`, nil)
	im := b.create(t, importer.Input{Name: new("jsonl"), URL: new(srv.URL), Format: new("auto")})

	require.Equal(t, importer.StatusSucceeded, b.run(t, im.ID).Status)
	run := b.run(t, im.ID)
	require.Equal(t, importer.StatusUnchanged, run.Status)
	require.Contains(t, run.Message, "304")
	require.EqualValues(t, 0, run.Items)
	require.EqualValues(t, 2, hits.Load())

	// A new mapping reads the feed again, unchanged or not: a 304 would
	// leave the catalogue as the old mapping made it.
	_, err := b.store.Update(context.Background(), im.ID, importer.Input{Mapping: &importer.Mapping{ExternalID: "id", Fields: map[string]string{"price": "cost"}}}, nil)
	require.NoError(t, err)
	run = b.run(t, im.ID)
	require.Equal(t, importer.StatusSucceeded, run.Status, run.Message)
	require.EqualValues(t, 20, run.Counts.Updated)
	require.EqualValues(t, 3, hits.Load())
	require.Equal(t, []string{"succeeded", "unchanged", "succeeded"}, b.events.observedRuns(), "every end is counted")
}

// A run whose worker stopped halfway is started over by the next worker
// (same run id): the items its first try wrote are not duplicates, and
// the counts are this try's alone.
func TestARunStartedOverCountsOnce(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	feed := generated(t, "csv", 300, 0)
	var slow atomic.Bool
	slow.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slow.Load() {
			_, _ = w.Write(feed)
			return
		}
		for rest := feed; len(rest) > 0 && r.Context().Err() == nil; rest = rest[min(len(rest), 512):] {
			if _, err := w.Write(rest[:min(len(rest), 512)]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(5 * time.Millisecond)
		}
	}))
	t.Cleanup(srv.Close)
	b.tune(t, func(o *importer.RunnerOptions) { o.BatchSize = 20 })
	im := b.create(t, importer.Input{Name: new("restart"), URL: new(srv.URL), Format: new("csv")})
	run := b.newRun(t, im.ID, "manual")

	// The first worker stops (its context ends) once some items are in.
	ctx, stop := context.WithCancel(context.Background())
	done := b.execute(ctx, run.ID)
	require.Eventually(t, func() bool {
		r, err := b.store.GetRun(context.Background(), run.ID)
		return err == nil && r.Counts.Created >= 40
	}, 10*time.Second, 5*time.Millisecond)
	stop()
	require.Error(t, <-done, "a stopping worker hands the run back")
	r := b.getRun(t, run.ID)
	require.Equal(t, importer.StatusRunning, r.Status)

	// The next worker runs it again, from the start of the feed.
	slow.Store(false)
	require.NoError(t, b.runner.Execute(context.Background(), run.ID))
	r = b.getRun(t, run.ID)
	require.Equal(t, importer.StatusSucceeded, r.Status, r.Message)
	require.EqualValues(t, 300, r.Items)
	require.Zero(t, r.Counts.Bad, "%v", r.Errors)
	require.EqualValues(t, 300, r.Counts.Created+r.Counts.Unchanged)
	require.Zero(t, r.Counts.Removed)
}

func TestGzipByHeaderAndByBody(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(generated(t, "yml", 40, 0))
	require.NoError(t, zw.Close())

	byHeader, _ := feedServer(t, func() []byte { return zipped.Bytes() }, "", http.Header{"Content-Encoding": {"gzip"}})
	byBody, _ := feedServer(t, func() []byte { return zipped.Bytes() }, "", http.Header{"Content-Type": {"application/octet-stream"}})
	for _, u := range []string{byHeader.URL + "/feed.xml", byBody.URL + "/feed.xml.gz"} {
		im := b.create(t, importer.Input{Name: new("yml"), URL: new(u), Format: new("yml")})
		run := b.run(t, im.ID)
		require.Equal(t, importer.StatusSucceeded, run.Status, run.Message)
		require.EqualValues(t, 40, run.Counts.Created, u)
	}
}

func TestBadRowsAreCountedSampledAndCanFailTheRun(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	var feed strings.Builder
	feed.WriteString("id;name;price\n")
	for i := range 20 {
		if i%5 == 4 {
			fmt.Fprintf(&feed, "%d;only two\n", i) // wrong number of fields
			continue
		}
		if i == 7 {
			feed.WriteString(";no id;1\n") // missing external id
			continue
		}
		fmt.Fprintf(&feed, "%d;item %d;%d.00\n", i, i, i)
	}
	srv, _ := feedServer(t, func() []byte { return []byte(feed.String()) }, "", nil)

	lenient := b.create(t, importer.Input{Name: new("lenient"), URL: new(srv.URL), Format: new("csv"), BadRowShare: new(0.5)})
	run := b.run(t, lenient.ID)
	require.Equal(t, importer.StatusSucceeded, run.Status, run.Message)
	require.EqualValues(t, 5, run.Counts.Bad)
	require.EqualValues(t, 15, run.Counts.Created)
	require.Len(t, run.Errors, 5)
	require.Equal(t, importer.ErrorEntry{Position: 6, Unit: "line", Reason: run.Errors[0].Reason}, run.Errors[0])
	var missing bool
	for _, e := range run.Errors {
		if e.Position == 9 && e.Field == "id" && strings.Contains(e.Reason, "missing external id") {
			missing = true
		}
	}
	require.True(t, missing, "%+v", run.Errors)

	strict := b.create(t, importer.Input{Name: new("strict"), URL: new(srv.URL), Format: new("csv"), BadRowShare: new(0.1)})
	run = b.run(t, strict.ID)
	require.Equal(t, importer.StatusFailed, run.Status)
	require.Contains(t, run.Message, "5 of 20 rows (25.0%) are bad")
	ev, _ := b.events.last()
	require.Equal(t, "import.failed", ev)
}

func TestFeedsThatCannotBeReadFailWithAReason(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	html, _ := feedServer(t, func() []byte { return []byte("<!DOCTYPE html><html><body>Login</body></html>") }, "", nil)
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	xmlFeed, _ := feedServer(t, func() []byte {
		return []byte(`<?xml version="1.0"?><catalog><products><product id="1"/></products></catalog>`)
	}, "", nil)

	cases := []struct {
		in   importer.Input
		want string
	}{
		{importer.Input{Name: new("html"), URL: new(html.URL), Format: new("yml")}, "HTML"},
		{importer.Input{Name: new("404"), URL: new(notFound.URL), Format: new("csv")}, "HTTP 404"},
		{importer.Input{Name: new("path"), URL: new(xmlFeed.URL), Format: new("xml"), ItemPath: new("catalog/offers/offer")}, "matched no element"},
		{importer.Input{Name: new("blocked"), URL: new("http://169.254.169.254/latest"), Format: new("json")}, "169.254.0.0/16"},
	}
	for _, c := range cases {
		im := b.create(t, c.in)
		run := b.run(t, im.ID)
		require.Equal(t, importer.StatusFailed, run.Status, *c.in.Name)
		require.Contains(t, run.Message, c.want, *c.in.Name)
	}
}

func TestRunsNeverOverlap(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	im := b.create(t, importer.Input{Name: new("x"), URL: new("https://example.com/feed.csv")})
	ctx := context.Background()
	first := b.newRun(t, im.ID, "manual")
	_, err := b.store.NewRun(ctx, im.ID, "schedule")
	require.ErrorIs(t, err, importer.ErrRunInProgress)

	_, err = b.store.CancelRun(ctx, first.ID)
	require.NoError(t, err)
	_, err = b.store.NewRun(ctx, im.ID, "schedule")
	require.NoError(t, err, "after the first ends, the next may start")
}

func TestCancelARunningRun(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fl := w.(http.Flusher)
		_, _ = io.WriteString(w, "id,name\n")
		for i := 0; ; i++ {
			select {
			case <-release:
				return
			case <-r.Context().Done():
				return
			default:
			}
			fmt.Fprintf(w, "%d,item\n", i)
			fl.Flush()
			time.Sleep(time.Millisecond)
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	b.tune(t, func(o *importer.RunnerOptions) { o.BatchSize = 10 })
	im := b.create(t, importer.Input{Name: new("endless"), URL: new(srv.URL), Format: new("csv")})
	ctx := context.Background()
	run := b.newRun(t, im.ID, "manual")
	done := b.execute(ctx, run.ID)

	require.Eventually(t, func() bool {
		r, err := b.store.GetRun(ctx, run.ID)
		return err == nil && r.Status == importer.StatusRunning && r.Items > 20
	}, 10*time.Second, 10*time.Millisecond, "progress is visible while the run goes")
	r := b.cancelRunning(t, run.ID, done)
	_, err := b.store.CancelRun(ctx, run.ID)
	require.ErrorIs(t, err, importer.ErrRunFinished)

	// A cancelled run did not complete: it ends with import.failed, once,
	// carrying what it had done by then.
	data := b.events.cancelledOnce(t, run.ID)
	require.Equal(t, "cancelled while running", data["message"])
	require.Equal(t, r.Items, data["items"])
	require.Greater(t, r.Items, int64(20))
	require.Equal(t, map[string]any{"created": r.Counts.Created, "updated": int64(0), "unchanged": int64(0), "removed": int64(0), "bad": int64(0)}, data["counts"])
}

func TestCancelARunWhoseFeedStalls(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	stalled := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Three rows, far fewer than a batch, then nothing until the
		// client goes away (or the test ends).
		_, _ = io.WriteString(w, "id;name\n1;a\n2;b\n3;c\n")
		w.(http.Flusher).Flush()
		close(stalled)
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	im := b.create(t, importer.Input{Name: new("stalls"), URL: new(srv.URL), Format: new("csv")})
	ctx := context.Background()
	run := b.newRun(t, im.ID, "manual")
	done := b.execute(ctx, run.ID)

	<-stalled
	require.Eventually(t, func() bool {
		r, err := b.store.GetRun(ctx, run.ID)
		return err == nil && r.Status == importer.StatusRunning
	}, 10*time.Second, 10*time.Millisecond)
	b.cancelRunning(t, run.ID, done)
	b.events.cancelledOnce(t, run.ID)
}

func TestCancellingAQueuedRunTellsOfItsEnd(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	im := b.create(t, importer.Input{Name: new("waiting"), URL: new("https://feeds.example/f.csv")})
	ctx := context.Background()
	run := b.newRun(t, im.ID, "manual")

	r, err := b.store.CancelRun(ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, importer.StatusCancelled, r.Status)
	require.NotNil(t, r.FinishedAt)
	ev, data := b.events.onlyEvent(t, run.ID)
	require.Equal(t, "import.failed", ev)
	require.Equal(t, map[string]any{
		"import_id": im.ID, "import_name": "waiting", "run_id": run.ID, "status": "cancelled",
		"message": "cancelled before it started", "items": int64(0), "bytes": int64(0),
		"counts": map[string]any{"created": int64(0), "updated": int64(0), "unchanged": int64(0), "removed": int64(0), "bad": int64(0)},
	}, data)

	// The queue still hands the run's task to a worker, which finds it
	// ended; a second cancel is refused. Neither tells of it again.
	require.NoError(t, b.runner.Execute(ctx, run.ID))
	_, err = b.store.CancelRun(ctx, run.ID)
	require.ErrorIs(t, err, importer.ErrRunFinished)
	r = b.getRun(t, run.ID)
	require.Equal(t, importer.StatusCancelled, r.Status)
	b.events.onlyEvent(t, run.ID)
	require.Equal(t, []string{"cancelled"}, b.events.observedRuns(), "counted once, by the store that ended it")
}

// flagOnly does what CancelRun and FailQueued do to a queued run before
// they end it, and nothing after: as a process that died in between.
func flagOnly(t *testing.T, b *bundle, runID string) {
	t.Helper()
	_, err := b.store.DB().ExecContext(context.Background(), `UPDATE import_runs SET cancel_requested = $1 WHERE id = $2`, true, runID)
	require.NoError(t, err)
}

// A process that set a queued run's cancel flag and died before ending it
// would leave the run queued for good, and every later run of the import
// refused as overlapping: the worker that takes the run's task up ends it.
func TestARunLeftFlaggedByADeadCancellerIsEnded(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	b.tune(t, func(o *importer.RunnerOptions) { o.AbandonedAfter = 50 * time.Millisecond })
	im := b.create(t, importer.Input{Name: new("orphan"), URL: new("https://feeds.example/f.csv")})
	ctx := context.Background()
	run := b.newRun(t, im.ID, "manual")
	flagOnly(t, b, run.ID)
	_, err := b.store.NewRun(ctx, im.ID, "manual")
	require.ErrorIs(t, err, importer.ErrRunInProgress, "the flagged run still counts as queued")

	require.NoError(t, b.runner.Execute(ctx, run.ID))
	r := b.getRun(t, run.ID)
	require.Equal(t, importer.StatusCancelled, r.Status)
	require.Contains(t, r.Message, "stopped before ending it")
	b.events.cancelledOnce(t, run.ID)
	_, err = b.store.NewRun(ctx, im.ID, "manual")
	require.NoError(t, err, "the import runs again")
}

// A run that could not be queued has no task for a worker to find: if the
// process that was failing it died after setting the flag, the import's
// next run ends it (once it has stood long enough) instead of being
// refused for good.
func TestAFlaggedRunWithoutATaskGivesWayToTheNextRun(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	im := b.create(t, importer.Input{Name: new("orphan"), URL: new("https://feeds.example/f.csv")})
	ctx := context.Background()
	run := b.newRun(t, im.ID, "schedule")
	flagOnly(t, b, run.ID)
	_, err := b.store.NewRun(ctx, im.ID, "manual")
	require.ErrorIs(t, err, importer.ErrRunInProgress, "flagged a moment ago: its flagger may still end it")

	_, err = b.store.DB().ExecContext(ctx, `UPDATE import_runs SET queued_at = $1 WHERE id = $2`, time.Now().Add(-2*time.Minute), run.ID)
	require.NoError(t, err)
	next := b.newRun(t, im.ID, "manual")
	require.NotEqual(t, run.ID, next.ID)
	r := b.getRun(t, run.ID)
	require.Equal(t, importer.StatusCancelled, r.Status)
	b.events.cancelledOnce(t, run.ID)
}

func TestARunThatCouldNotBeQueuedTellsOfItsEnd(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	im := b.create(t, importer.Input{Name: new("unqueued"), URL: new("https://feeds.example/f.csv")})
	ctx := context.Background()
	run := b.newRun(t, im.ID, "manual")

	require.NoError(t, b.store.FailQueued(ctx, run.ID, "the run could not be queued: redis is down"))
	r := b.getRun(t, run.ID)
	require.Equal(t, importer.StatusFailed, r.Status)
	ev, data := b.events.onlyEvent(t, run.ID)
	require.Equal(t, "import.failed", ev)
	require.Equal(t, "failed", data["status"])
	require.Equal(t, "the run could not be queued: redis is down", data["message"])
	require.Equal(t, im.ID, data["import_id"])
	require.Equal(t, "unqueued", data["import_name"])

	require.Equal(t, []string{"failed"}, b.events.observedRuns())

	// Once ended, it stays as it ended.
	require.NoError(t, b.store.FailQueued(ctx, run.ID, "again"))
	_, err := b.store.CancelRun(ctx, run.ID)
	require.ErrorIs(t, err, importer.ErrRunFinished)
	b.events.onlyEvent(t, run.ID)
}

// A cancel that arrives as a worker takes the run up ends it either
// before it starts or while it runs, never both: one event, whichever
// way the race goes.
func TestCancelRacingTheStartTellsOfTheEndOnce(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	srv := httptest.NewServer(http.HandlerFunc(feedgen.EndlessCSV))
	t.Cleanup(srv.Close)
	b.tune(t, func(o *importer.RunnerOptions) { o.BatchSize = 10 })
	im := b.create(t, importer.Input{Name: new("race"), URL: new(srv.URL), Format: new("csv")})
	ctx := context.Background()
	for i := range 20 {
		run := b.newRun(t, im.ID, "manual")
		done := b.execute(ctx, run.ID)
		// Spread the cancels over the moments the worker takes the run up.
		time.Sleep(time.Duration(i) * 50 * time.Microsecond)
		b.cancelRunning(t, run.ID, done)
		b.events.cancelledOnce(t, run.ID)
	}
}

// blockingReauthSender holds the request until released, then answers
// that the connection needs reauthorization.
type blockingReauthSender struct {
	asked   chan struct{}
	release chan struct{}
}

func (s blockingReauthSender) Do(context.Context, string, *http.Request) (*http.Response, error) {
	close(s.asked)
	<-s.release
	return reauthSender{}.Do(context.Background(), "", nil)
}

// A run cancelled while it runs is not postponed when its connection turns
// out to need reauthorization: it ends, cancelled, and says so.
func TestACancelledRunIsNotPostponed(t *testing.T) {
	t.Parallel()
	sender := blockingReauthSender{asked: make(chan struct{}), release: make(chan struct{})}
	b := setupRunner(t, sender)
	im := b.create(t, importer.Input{Name: new("protected"), ConnectionID: new("conn_1"), URL: new("/feed.xml"), Format: new("yml")})
	ctx := context.Background()
	run := b.newRun(t, im.ID, "schedule")
	done := b.execute(ctx, run.ID)
	<-sender.asked
	r, err := b.store.CancelRun(ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, importer.StatusRunning, r.Status)
	close(sender.release)
	select {
	case err := <-done:
		require.NoError(t, err, "cancelled, not postponed")
	case <-time.After(20 * time.Second):
		t.Fatal("the run did not end")
	}
	r = b.getRun(t, run.ID)
	require.Equal(t, importer.StatusCancelled, r.Status, r.Message)
	b.events.cancelledOnce(t, run.ID)
}

// A postponed run waits in the queue; cancelled there, it ends at once and
// the worker that comes back for it finds it ended.
func TestCancellingAPostponedRun(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, reauthSender{})
	im := b.create(t, importer.Input{Name: new("protected"), ConnectionID: new("conn_1"), URL: new("/feed.xml"), Format: new("yml")})
	ctx := context.Background()
	run := b.newRun(t, im.ID, "schedule")
	var post *retry.Later
	require.ErrorAs(t, b.runner.Execute(ctx, run.ID), &post)
	types, _ := b.events.ofRun(run.ID)
	require.Empty(t, types, "a postponed run has not ended")

	r, err := b.store.CancelRun(ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, importer.StatusCancelled, r.Status)
	require.NoError(t, b.runner.Execute(ctx, run.ID))
	b.events.cancelledOnce(t, run.ID)
}

func TestTimeLimit(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "[")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	im := b.create(t, importer.Input{Name: new("slow"), URL: new(srv.URL), Format: new("json"), TimeLimit: new("1s")})
	run := b.run(t, im.ID)
	require.Equal(t, importer.StatusFailed, run.Status)
	require.Contains(t, run.Message, "time limit of 1s")
}

// reauthSender answers as connections does for a connection that needs
// reauthorization: "not now", with no wait of its own.
type reauthSender struct{}

func (reauthSender) Do(context.Context, string, *http.Request) (*http.Response, error) {
	return nil, &retry.Later{Reason: "connection conn_1 needs to be reconnected: invalid_grant"}
}

func TestNeedsReauthPostponesTheRun(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, reauthSender{})
	im := b.create(t, importer.Input{Name: new("protected"), ConnectionID: new("conn_1"), URL: new("/feed.xml"), Format: new("yml")})
	ctx := context.Background()
	run := b.newRun(t, im.ID, "schedule")
	err := b.runner.Execute(ctx, run.ID)
	var post *retry.Later
	require.True(t, errors.As(err, &post), "got %v; want *retry.Later", err)
	require.Equal(t, 30*time.Second, post.After)
	require.NoError(t, post.Err, "a postponement, not a failure")
	r := b.getRun(t, run.ID)
	require.Equal(t, importer.StatusQueued, r.Status, "postponed, not failed and not lost")
	require.Equal(t, "waiting: connection conn_1 needs to be reconnected: invalid_grant", r.Message, "the sender's reason")
}

func TestBadImportInputNamesTheField(t *testing.T) {
	t.Parallel()
	b := setupRunner(t, nil)
	cases := []struct {
		in    importer.Input
		field string
	}{
		{importer.Input{URL: new("https://x/f")}, "name"},
		{importer.Input{Name: new("x"), URL: new("https://x/f"), Schedule: new("every day")}, "schedule"},
		{importer.Input{Name: new("x"), URL: new("https://x/f"), Schedule: new("* * * * * *")}, "schedule"},
		{importer.Input{Name: new("x"), URL: new("https://x/f"), Format: new("xlsx")}, "format"},
		{importer.Input{Name: new("x"), URL: new("https://x/f"), Format: new("xml")}, "item_path"},
		{importer.Input{Name: new("x"), URL: new("/relative")}, "url"},
		{importer.Input{Name: new("x"), URL: new("ftp://x/f")}, "url"},
		{importer.Input{Name: new("x"), URL: new("https://x/f"), Timezone: new("Mars/Olympus")}, "timezone"},
		{importer.Input{Name: new("x"), URL: new("https://x/f"), TimeLimit: new("forever")}, "time_limit"},
		{importer.Input{Name: new("x"), URL: new("https://x/f"), BadRowShare: new(1.5)}, "bad_row_threshold"},
		{importer.Input{Name: new("x"), URL: new("https://x/f"), Mapping: &importer.Mapping{Fields: map[string]string{"a": ""}}}, "mapping"},
	}
	for _, c := range cases {
		_, err := b.store.Create(context.Background(), c.in, nil)
		ie, ok := invalid.As(err)
		require.True(t, ok, "got %v; want field errors", err)
		var fields []string
		for _, f := range ie.Fields {
			fields = append(fields, f.Field)
		}
		require.Contains(t, fields, c.field, "%v", err)
	}
	im, err := b.store.Create(context.Background(), importer.Input{Name: new("ok"), URL: new("https://x/f"), Schedule: new("@every 1h")}, nil)
	require.NoError(t, err)
	require.Equal(t, "@every 1h", im.Cronspec())
	im, err = b.store.Create(context.Background(), importer.Input{Name: new("tz"), URL: new("https://x/f"), Schedule: new("0 3 * * *"), Timezone: new("Europe/Moscow")}, nil)
	require.NoError(t, err)
	require.Equal(t, "CRON_TZ=Europe/Moscow 0 3 * * *", im.Cronspec())
}

// A store without its database, a runner without its store or sender, or
// with a negative figure, is refused when it is built, by the field's name.
func TestStoreAndRunnerOptionsAreChecked(t *testing.T) {
	t.Parallel()
	_, err := importer.NewStore(importer.StoreOptions{Events: &recorded{}})
	require.ErrorContains(t, err, "importer: Options.DB is required")
	_, err = importer.NewRunner(importer.RunnerOptions{Sender: reauthSender{}})
	require.ErrorContains(t, err, "importer: Options.Store is required")
	_, err = importer.NewRunner(importer.RunnerOptions{Store: &importer.Store{}})
	require.ErrorContains(t, err, "importer: Options.Sender is required")
	_, err = importer.NewRunner(importer.RunnerOptions{Store: &importer.Store{}, Sender: reauthSender{}, BatchSize: -1})
	require.ErrorContains(t, err, "Options.BatchSize is negative")
}
