package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/apiclient"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/secret"
	"github.com/liaison/liaison/jobs"
)

type options struct {
	events, batch, senders int
	rate                   float64
	duration               time.Duration
	concurrency            int
	phase                  string
	stallTrace             string
	leadIn                 time.Duration
	hungEvents             int
	hungRate               float64
	hungFor                time.Duration
	targetShare            int
}

func main() {
	var o options
	flag.IntVar(&o.events, "events", 20_000, "throughput: events to send, one delivery each")
	flag.IntVar(&o.batch, "batch", 100, "throughput: events per POST /v1/events/batch (1 sends POST /v1/events)")
	flag.IntVar(&o.senders, "senders", 4, "throughput: clients sending at once")
	flag.Float64Var(&o.rate, "rate", 200, "latency: events per second")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "latency: how long to send at -rate")
	flag.DurationVar(&o.leadIn, "lead-in", time.Second, "latency: how long to send at -rate before the events measured, which these are not")
	flag.IntVar(&o.concurrency, "concurrency", 200, "deliveries the worker runs at once (DELIVERY_CONCURRENCY)")
	flag.IntVar(&o.targetShare, "target-share", 0, "most deliveries one target may have under way; 0 is a quarter of -concurrency, as liaison sets it")
	flag.StringVar(&o.phase, "phase", "all", "throughput, latency, all (both), or hung (a hanging endpoint beside a healthy one)")
	flag.IntVar(&o.hungEvents, "hung-events", 1000, "hung: events to send, each to both endpoints")
	flag.Float64Var(&o.hungRate, "hung-rate", 50, "hung: events per second")
	flag.DurationVar(&o.hungFor, "hung-for", time.Minute, "hung: how long A hangs, from the first event (past the 30 s request timeout, its circuit opens)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.StringVar(&o.stallTrace, "stall-trace", "", "latency: keep a flight recording of the last seconds and write it to this file when an event's intake first takes over 100 ms (go tool trace)")
	flag.Parse()
	if o.phase != "all" && o.phase != "throughput" && o.phase != "latency" && o.phase != "hung" {
		fmt.Fprintln(os.Stderr, "deliverybench: -phase must be throughput, latency, all or hung")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(context.Background(), o); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "deliverybench:", err)
		os.Exit(1)
	}
}

// bench is the running path and the receiver at its end.
type bench struct {
	db       *db.DB
	redis    *jobs.Redis
	api      *apiclient.Client
	receiver *receiver
}

func run(ctx context.Context, o options) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, dialect, closeDB, err := db.OpenBench(ctx, os.Getenv("DATABASE_URL"), "deliverybench")
	if err != nil {
		return err
	}
	defer closeDB()
	// As liaison dev does before it reports ready.
	if err := d.Warm(ctx, db.WarmConnections); err != nil {
		return err
	}
	r, redisKind, closeRedis, err := openRedis(ctx, log)
	if err != nil {
		return err
	}
	defer closeRedis()

	key, err := secret.NewKey()
	if err != nil {
		return err
	}
	ring, err := secret.NewRing([][]byte{key})
	if err != nil {
		return err
	}
	conns, err := connections.New(connections.Options{
		DB: d, Redis: r.UniversalClient, Ring: ring, RedirectURI: "http://localhost/oauth/callback", Version: "bench",
		AllowedCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Log: log,
	})
	if err != nil {
		return err
	}
	defer conns.Close()
	queue := jobs.NewClient(r)
	defer queue.Close()
	share := o.targetShare
	if share <= 0 {
		share = max(1, o.concurrency/4) // as cmd/liaison sets it
	}
	svc, err := hooks.New(hooks.Options{DB: d, Redis: r.UniversalClient, Ring: ring, Sender: conns, Queue: queue, Log: log, TargetConcurrency: share})
	if err != nil {
		return err
	}
	worker, err := jobs.NewWorker(jobs.WorkerOptions{Redis: r, Deps: jobs.Deps{Client: queue, Hooks: svc}, Log: log,
		DeliveryConcurrency: o.concurrency, ShutdownTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	if err := worker.Start(); err != nil {
		return err
	}
	defer worker.Shutdown()

	tokens, err := access.New(access.Options{DB: d, RotationOverlap: time.Hour})
	if err != nil {
		return err
	}
	name, scopes := "deliverybench", []string{access.ScopeEventsWrite, access.ScopeHooksRead, access.ScopeHooksWrite}
	issued, err := tokens.Create(ctx, access.Input{Name: &name, Scopes: &scopes}, "deliverybench")
	if err != nil {
		return err
	}
	web := httptest.NewServer(api.New(api.Deps{Log: log, DB: d, Redis: r, Jobs: queue, Tokens: tokens, Connections: conns, Hooks: svc, MaxBodyBytes: 4 << 20, Version: "bench"}))
	defer web.Close()
	recv := &receiver{}
	rs := httptest.NewServer(recv)
	defer rs.Close()

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	b := &bench{db: d, redis: r, api: &apiclient.Client{BaseURL: web.URL, Token: issued.Secret, HTTP: &http.Client{Transport: tr, Timeout: time.Minute}}, receiver: recv}
	var wh hooks.WebhookWithSecret
	if err := b.api.Post(ctx, "/v1/webhooks", map[string]any{"url": rs.URL + "/webhook", "event_types": []string{"order.*"}, "description": "deliverybench"}, http.StatusCreated, &wh); err != nil {
		return fmt.Errorf("creating the webhook: %w", err)
	}
	recv.secret.Store(&wh.Secret)

	fmt.Printf("deliverybench: %s, %s; %s, %d CPU, GOMAXPROCS %d; worker concurrency %d\n",
		dialect, redisKind, runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0), o.concurrency)

	// Warm up: connections opened, caches filled, tables touched.
	if err := b.throughput(ctx, options{events: 500, batch: 50, senders: 2}, "warm-up", false); err != nil {
		return err
	}
	if o.phase == "hung" {
		b.settle(ctx)
		return b.hung(ctx, o)
	}
	if o.phase != "latency" {
		b.settle(ctx)
		if err := b.throughput(ctx, o, "throughput", true); err != nil {
			return err
		}
	}
	if o.phase != "throughput" {
		b.settle(ctx)
		if err := b.latency(ctx, o); err != nil {
			return err
		}
	}
	if n := recv.badSignatures.Load(); n > 0 {
		return fmt.Errorf("%d requests failed signature verification", n)
	}
	return nil
}

// settle starts a phase from a checkpointed database: otherwise the
// checkpoint that the previous phase's writes call for (tens of thousands of
// rows on a small server's max_wal_size) flushes its pages during the next
// phase, and the stalls it causes are measured as that phase's.
func (b *bench) settle(ctx context.Context) {
	if b.db.Dialect != db.Postgres {
		return
	}
	if _, err := b.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		fmt.Fprintln(os.Stderr, "deliverybench: CHECKPOINT before the phase failed (needs a superuser or pg_checkpoint):", err)
	}
	// Statistics for what the phase before wrote, as autovacuum keeps them
	// on a production database (a database with autovacuum off, as CI's
	// may be, would otherwise plan on empty tables).
	if _, err := b.db.ExecContext(ctx, "ANALYZE events, deliveries, attempts"); err != nil {
		fmt.Fprintln(os.Stderr, "deliverybench: ANALYZE before the phase failed:", err)
	}
}

// throughput sends o.events events as fast as o.senders clients can and
// waits until every delivery's attempt is recorded as succeeded.
func (b *bench) throughput(ctx context.Context, o options, label string, report bool) error {
	prefix := label + "_" + randomHex(4) + "_"
	recordedBefore, err := b.succeeded(ctx)
	if err != nil {
		return err
	}
	b.receiver.reset(nil)
	cpu := b.cpuNow(ctx)
	start := time.Now()
	var next atomic.Int64
	errc := make(chan error, o.senders)
	var wg sync.WaitGroup
	for range o.senders {
		wg.Go(func() {
			for {
				first := int(next.Add(int64(o.batch))) - o.batch
				if first >= o.events {
					return
				}
				n := min(o.batch, o.events-first)
				if err := b.send(ctx, prefix, first, n); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	intake := time.Since(start)
	if err := b.receiver.waitFor(ctx, prefix, o.events, time.Minute+time.Duration(o.events)*time.Millisecond); err != nil {
		return err
	}
	received := time.Since(start)
	for {
		n, err := b.succeeded(ctx)
		if err != nil {
			return err
		}
		if n-recordedBefore >= o.events {
			break
		}
		if time.Since(start) > 2*time.Minute+time.Duration(o.events)*time.Millisecond {
			return fmt.Errorf("%s: only %d of %d deliveries recorded as succeeded", label, n-recordedBefore, o.events)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	used := b.cpuNow(ctx).since(cpu)
	if report {
		fmt.Printf("throughput: %d events (batches of %d, %d senders) → %d deliveries in %s: %.0f deliveries/s end to end "+
			"(intake done at %s, %.0f events/s; last received at %s; %d requests, %d repeats)\n",
			o.events, o.batch, o.senders, o.events, took.Round(time.Millisecond), float64(o.events)/took.Seconds(),
			intake.Round(time.Millisecond), float64(o.events)/intake.Seconds(), received.Round(time.Millisecond),
			b.receiver.requests.Load(), b.receiver.requests.Load()-int64(o.events))
		fmt.Printf("  %s\n", used.per(o.events, "delivery"))
	}
	return nil
}

// send posts events first…first+n-1, as one batch or (batch 1) alone.
func (b *bench) send(ctx context.Context, prefix string, first, n int) error {
	if n == 1 {
		return b.api.Post(ctx, "/v1/events", event(prefix, first), http.StatusAccepted, nil)
	}
	evs := make([]map[string]any, n)
	for i := range evs {
		evs[i] = event(prefix, first+i)
	}
	var out struct {
		Accepted int `json:"accepted"`
	}
	if err := b.api.Post(ctx, "/v1/events/batch", map[string]any{"events": evs}, http.StatusAccepted, &out); err != nil {
		return err
	}
	if out.Accepted != n {
		return fmt.Errorf("a batch of %d events had %d accepted", n, out.Accepted)
	}
	return nil
}

func event(prefix string, i int) map[string]any {
	return map[string]any{
		"id": fmt.Sprintf("%s%07d", prefix, i), "type": "order.paid",
		"profile": map[string]any{"email": fmt.Sprintf("user%d@example.com", i), "first_name": "Ada"},
		"data":    map[string]any{"order_id": i, "total": 42.5, "currency": "EUR", "items": []any{map[string]any{"sku": "A-1", "qty": 2}}},
	}
}

// latency sends events one by one at o.rate for o.duration and measures
// from each event's due time to its delivery reaching the receiver.
func (b *bench) latency(ctx context.Context, o options) error {
	prefix := "latency_" + randomHex(4) + "_"
	n := int(o.rate * o.duration.Seconds())
	due := make([]time.Time, n)
	interval := time.Duration(float64(time.Second) / o.rate)
	// The lead-in goes at the same rate, and the measured events follow
	// it without a gap; its deliveries reach the receiver under a prefix
	// it does not count.
	var leading sync.WaitGroup
	defer leading.Wait()
	leadPrefix, lead := "leadin_"+randomHex(4)+"_", int(o.rate*o.leadIn.Seconds())
	begin := time.Now()
	for i := range lead {
		time.Sleep(time.Until(begin.Add(time.Duration(i) * interval)))
		leading.Go(func() { _ = b.api.Post(ctx, "/v1/events", event(leadPrefix, i), http.StatusAccepted, nil) })
	}
	start := begin.Add(time.Duration(lead) * interval)
	if lead == 0 {
		start = time.Now().Add(10 * time.Millisecond)
	}
	for i := range due {
		due[i] = start.Add(time.Duration(i) * interval)
	}
	arrived := make([]time.Duration, n) // per event, under the receiver's lock
	b.receiver.reset(func(p string, i int, at time.Time) (time.Duration, bool) {
		if p != prefix || i < 0 || i >= n {
			return 0, false
		}
		arrived[i] = at.Sub(due[i])
		return arrived[i], true
	})
	intake := make([]time.Duration, n)
	sentAt := make([]time.Duration, n)
	var (
		fr      *trace.FlightRecorder
		dumping sync.Once
	)
	if o.stallTrace != "" {
		fr = trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: 3 * time.Second, MaxBytes: 64 << 20})
		if err := fr.Start(); err != nil {
			return fmt.Errorf("starting the flight recorder: %w", err)
		}
		defer fr.Stop()
	}
	stalled := func(i int) {
		if fr == nil || intake[i] < 100*time.Millisecond {
			return
		}
		dumping.Do(func() {
			go func() {
				time.Sleep(time.Second) // the stall's end too
				f, err := os.Create(o.stallTrace)
				if err == nil {
					_, err = fr.WriteTo(f)
					err = errors.Join(err, f.Close())
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "deliverybench: writing the flight recording:", err)
					return
				}
				fmt.Fprintf(os.Stderr, "deliverybench: event #%d took %s to be taken; flight recording in %s\n", i, ms(intake[i]), o.stallTrace)
			}()
		})
	}
	cpu := b.cpuNow(ctx)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		time.Sleep(time.Until(due[i]))
		sentAt[i] = time.Since(due[i])
		wg.Go(func() {
			if err := b.api.Post(ctx, "/v1/events", event(prefix, i), http.StatusAccepted, nil); err != nil {
				if failed.Add(1) == 1 {
					fmt.Fprintln(os.Stderr, "deliverybench: sending an event:", err)
				}
			}
			intake[i] = time.Since(due[i])
			stalled(i)
		})
	}
	sent := time.Since(start)
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d events were not taken", f, n)
	}
	if err := b.receiver.waitFor(ctx, prefix, n, time.Minute); err != nil {
		return err
	}
	used := b.cpuNow(ctx).since(cpu)
	lat := b.receiver.latencies()
	// Where the slowest spent their time: late in leaving this process, in
	// intake (until the 202), or after it (queue, worker, request).
	var slow []string
	got := b.receiver.snapshot(arrived)
	for _, i := range slowest(got, 5) {
		if got[i] > 25*time.Millisecond {
			slow = append(slow, fmt.Sprintf("#%d %s (sent +%s, 202 +%s)", i, ms(got[i]), ms(sentAt[i]), ms(intake[i])))
		}
	}
	slices.Sort(lat)
	slices.Sort(intake)
	fmt.Printf("latency: %d events at %.0f/s over %s after a %s lead-in (sent in %s): event→receiver p50 %s, p95 %s, p99 %s, max %s; intake (202) p50 %s, p99 %s\n",
		n, o.rate, o.duration, o.leadIn, sent.Round(time.Millisecond),
		ms(pct(lat, 50)), ms(pct(lat, 95)), ms(pct(lat, 99)), ms(lat[len(lat)-1]), ms(pct(intake, 50)), ms(pct(intake, 99)))
	if len(slow) > 0 {
		fmt.Printf("  over 25 ms: %s\n", strings.Join(slow, ", "))
	}
	fmt.Printf("  %s\n", used.per(n, "delivery"))
	return nil
}

// slowest are the indexes of the k largest of d, largest first.
func slowest(d []time.Duration, k int) []int {
	idx := make([]int, len(d))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(d[b], d[a]) })
	return idx[:min(k, len(idx))]
}

// cpuSample is where the machine's, this process's and Redis's CPU
// counters stood at a moment.
type cpuSample struct {
	at                 time.Time
	busy, total        float64 // machine, seconds summed over CPUs (/proc/stat)
	self, redis        float64 // seconds
	haveMachine, haveR bool
}

type cpuUse struct {
	wall                   time.Duration
	machine, self, redis   float64 // seconds of CPU
	cpus                   float64
	haveMachine, haveRedis bool
}

func (b *bench) cpuNow(ctx context.Context) cpuSample {
	c := cpuSample{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	if raw, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(raw), "\n")
		f := strings.Fields(line)
		if len(f) > 5 && f[0] == "cpu" {
			for i, v := range f[1:] {
				var n float64
				fmt.Sscan(v, &n)
				c.total += n / 100    // USER_HZ
				if i != 3 && i != 4 { // idle, iowait
					c.busy += n / 100
				}
			}
			c.haveMachine = true
		}
	}
	if info, err := b.redis.Info(ctx, "cpu").Result(); err == nil {
		for _, line := range strings.Split(info, "\r\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
				var n float64
				fmt.Sscan(v, &n)
				c.redis += n
				c.haveR = true
			}
		}
	}
	return c
}

func (c cpuSample) since(old cpuSample) cpuUse {
	u := cpuUse{wall: c.at.Sub(old.at), self: c.self - old.self, redis: c.redis - old.redis,
		haveMachine: c.haveMachine && old.haveMachine, haveRedis: c.haveR && old.haveR}
	if u.haveMachine {
		u.machine = c.busy - old.busy
		u.cpus = (c.total - old.total) / u.wall.Seconds()
	}
	return u
}

// per says how busy the machine was and what one unit cost in CPU.
func (u cpuUse) per(n int, unit string) string {
	out := fmt.Sprintf("CPU per %s: this process (web, worker, receiver, clients) %.0f µs", unit, u.self/float64(n)*1e6)
	if u.haveRedis {
		out += fmt.Sprintf(", Redis %.0f µs", u.redis/float64(n)*1e6)
	}
	if u.haveMachine {
		out += fmt.Sprintf(", whole machine %.0f µs; machine %.0f%% busy over %.1f CPUs (anything else running counts too)",
			u.machine/float64(n)*1e6, 100*u.machine/(u.wall.Seconds()*u.cpus), u.cpus)
	}
	return out
}

// pct is the p-th percentile (0–100) of sorted.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// succeeded counts the deliveries whose attempt is recorded as succeeded.
func (b *bench) succeeded(ctx context.Context) (int, error) {
	var n int
	err := b.db.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE status = 'succeeded'`).Scan(&n)
	return n, err
}

// receiver is the webhook endpoint: it verifies each request as a receiver
// must, counts deliveries by webhook-id (a repeat counts once) and answers
// 204 at once.
type receiver struct {
	secret        atomic.Pointer[string] // the webhook's, set once it exists
	requests      atomic.Int64
	badSignatures atomic.Int64

	mu   sync.Mutex
	seen map[string]bool // webhook-ids
	// byPrefix counts distinct deliveries per event-id prefix (a phase).
	byPrefix map[string]int
	// latency, when set, turns an event's prefix, index and arrival into a
	// latency.
	latency func(prefix string, i int, at time.Time) (time.Duration, bool)
	lat     []time.Duration
}

func (rc *receiver) reset(latency func(string, int, time.Time) (time.Duration, bool)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests.Store(0)
	rc.seen, rc.byPrefix, rc.latency, rc.lat = map[string]bool{}, map[string]int{}, latency, nil
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.requests.Add(1)
	secret := rc.secret.Load()
	if secret == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if err := hooks.Verify(*secret, r.Header, body, at, 0); err != nil {
		if rc.badSignatures.Add(1) == 1 {
			fmt.Fprintln(os.Stderr, "deliverybench: receiver:", err)
		}
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	var p struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &p)
	prefix, index := splitEventID(p.ID)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	id := r.Header.Get(hooks.HeaderID)
	if rc.seen[id] {
		return
	}
	rc.seen[id] = true
	rc.byPrefix[prefix]++
	if rc.latency != nil {
		if d, ok := rc.latency(prefix, index, at); ok {
			rc.lat = append(rc.lat, d)
		}
	}
}

// splitEventID parses "<phase>_<hex>_<index>".
func splitEventID(id string) (prefix string, index int) {
	i := strings.LastIndexByte(id, '_')
	if i < 0 {
		return "", -1
	}
	index = 0
	for _, c := range id[i+1:] {
		if c < '0' || c > '9' {
			return "", -1
		}
		index = index*10 + int(c-'0')
	}
	return id[:i+1], index
}

func (rc *receiver) waitFor(ctx context.Context, prefix string, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		rc.mu.Lock()
		got := rc.byPrefix[prefix]
		rc.mu.Unlock()
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d deliveries reached the receiver within %s", got, n, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// snapshot copies d under the receiver's lock, which its latency callback
// writes under.
func (rc *receiver) snapshot(d []time.Duration) []time.Duration {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(d)
}

func (rc *receiver) latencies() []time.Duration {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]time.Duration(nil), rc.lat...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// openRedis opens REDIS_URL, refusing a database that already holds asynq
// queues (the bench would run, and then remove, someone else's work), or
// the embedded Redis when it is unset.
func openRedis(ctx context.Context, log *slog.Logger) (*jobs.Redis, string, func(), error) {
	raw := os.Getenv("REDIS_URL")
	r, err := jobs.OpenRedis(ctx, raw, log)
	if err != nil {
		return nil, "", nil, err
	}
	if r.Embedded() {
		return r, "embedded Redis (REDIS_URL unset)", func() { r.Close() }, nil
	}
	if n, err := r.Exists(ctx, "asynq:queues").Result(); err != nil || n > 0 {
		r.Close()
		if err == nil {
			err = errors.New("this Redis database holds asynq queues already; name an unused one in REDIS_URL (redis://host:6379/9)")
		}
		return nil, "", nil, err
	}
	return r, "Redis", func() {
		// Remove what the run left: asynq's keys and Liaison's own.
		for _, pattern := range []string{"asynq:*", "liaison:*", "{liaison:*"} {
			iter := r.Scan(context.Background(), 0, pattern, 1000).Iterator()
			for iter.Next(context.Background()) {
				r.Del(context.Background(), iter.Val())
			}
		}
		r.Close()
	}, nil
}
