package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/liaison/liaison/internal/apiclient"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/tcpproxy"
)

type options struct {
	rate    float64
	hold    time.Duration
	outage  time.Duration
	settle  time.Duration
	workers int
}

func main() {
	var o options
	flag.Float64Var(&o.rate, "rate", 50, "events per second, each one delivery")
	flag.DurationVar(&o.hold, "hold", 300*time.Millisecond, "how long the receiver takes to answer")
	flag.DurationVar(&o.outage, "outage", 5*time.Second, "how long Redis and the database are away")
	flag.DurationVar(&o.settle, "settle", 3*time.Second, "events sent before each fault")
	flag.Parse()
	o.workers = 2
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "recoverybench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	raw := os.Getenv("DATABASE_URL")
	if !strings.HasPrefix(raw, "postgres") {
		return errors.New("DATABASE_URL must name a PostgreSQL (the database drill cuts a TCP proxy in front of it)")
	}
	dir, err := os.MkdirTemp("", "recoverybench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "liaison")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/liaison/liaison/cmd/liaison").CombinedOutput(); err != nil {
		return fmt.Errorf("building liaison: %v\n%s", err, out)
	}

	d, scratchURL, dropDB, err := db.OpenScratch(ctx, raw, "recoverybench")
	if err != nil {
		return err
	}
	defer dropDB()
	if _, err := d.Migrate(ctx); err != nil {
		return err
	}
	u, err := url.Parse(scratchURL)
	if err != nil {
		return err
	}
	proxy, err := tcpproxy.New(u.Host)
	if err != nil {
		return err
	}
	defer proxy.Close()
	u.Host = proxy.Addr

	rs := &redisServer{addr: freeAddr(), dir: dir}
	if err := rs.start(); err != nil {
		return err
	}
	defer rs.kill()

	env := append(os.Environ(),
		"DATABASE_URL="+u.String(), "REDIS_URL=redis://"+rs.addr,
		"SECRET_KEYS=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"ALLOWED_CIDRS=127.0.0.0/8", "LOG_LEVEL=warn")
	procs := &processes{bin: bin, env: env, dir: dir}
	defer procs.stopAll()
	cmd := exec.Command(bin, "tokens", "create", "--name", "recoverybench", "--scopes", "events.write,hooks.write,hooks.read")
	cmd.Env = env
	tokenOut, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("making a token: %w", err)
	}
	token := strings.TrimSpace(string(tokenOut))

	webAddr := freeAddr()
	if _, err := procs.start("web", "serve", "LISTEN_ADDR="+webAddr); err != nil {
		return err
	}
	if _, err := procs.start("scheduler", "scheduler", "HEALTH_ADDR="+freeAddr()); err != nil {
		return err
	}
	var workers []*process
	for i := range o.workers {
		w, err := procs.start(fmt.Sprintf("worker%d", i+1), "worker", "HEALTH_ADDR="+freeAddr())
		if err != nil {
			return err
		}
		workers = append(workers, w)
	}

	recv := newReceiver(o.hold)
	srv := httptest.NewServer(recv)
	defer srv.Close()
	api := &apiclient.Client{BaseURL: "http://" + webAddr, Token: token, HTTP: &http.Client{Timeout: 10 * time.Second}}
	if err := api.Post(ctx, "/v1/webhooks", map[string]any{"url": srv.URL + "/hook", "event_types": []string{"order.*"}}, http.StatusCreated, nil); err != nil {
		return fmt.Errorf("creating the webhook: %w", err)
	}
	fmt.Printf("recoverybench: %d workers, a scheduler and a web process on redis-server %s and PostgreSQL through a proxy; %.0f events/s, the receiver answers after %s\n",
		o.workers, rs.addr, o.rate, o.hold)

	prod := &producer{api: api, rate: o.rate, accepted: map[string]string{}}
	pctx, stopProducing := context.WithCancel(ctx)
	produced := make(chan struct{})
	go func() { defer close(produced); prod.run(pctx) }()

	type drill struct {
		name  string
		fault func() (end time.Time, err error)
	}
	drills := []drill{
		{"worker SIGKILL", func() (time.Time, error) {
			w := workers[0]
			if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				return time.Time{}, err
			}
			died := time.Now()
			<-w.done
			nw, err := procs.start("worker3", "worker", "HEALTH_ADDR="+freeAddr())
			workers[0] = nw
			return died, err
		}},
		{"redis kill -9, restarted empty after " + o.outage.String(), func() (time.Time, error) {
			// A burst whose first attempts fail: their retries (due 4–6 s
			// later) wait in Redis, and go with it.
			burst := make([]map[string]any, burstEvents)
			for i := range burst {
				burst[i] = map[string]any{"id": fmt.Sprintf("%s%04d", burstPrefix, i), "type": "order.paid"}
			}
			var res struct {
				Results []struct {
					ID         string   `json:"id"`
					Deliveries []string `json:"deliveries"`
				} `json:"results"`
			}
			if err := api.Post(ctx, "/v1/events/batch", map[string]any{"events": burst}, http.StatusAccepted, &res); err != nil {
				return time.Time{}, err
			}
			for _, r := range res.Results {
				prod.accept(r.ID, r.Deliveries[0])
			}
			for recv.failedFirst() < burstEvents {
				time.Sleep(10 * time.Millisecond)
			}
			rs.kill()
			time.Sleep(o.outage)
			return time.Now(), rs.start()
		}},
		{"database cut for " + o.outage.String(), func() (time.Time, error) {
			proxy.Cut()
			time.Sleep(o.outage)
			return time.Now(), proxy.Restore()
		}},
	}
	type result struct {
		name    string
		waiting int
		longest time.Duration
		slowest string
	}
	var results []result
	for _, dr := range drills {
		time.Sleep(o.settle)
		end, err := dr.fault()
		if err != nil {
			stopProducing()
			return fmt.Errorf("%s: %w", dr.name, err)
		}
		// What was waiting at the fault's end: every delivery accepted
		// before it and not answered yet, and every one answered whose
		// attempt is not recorded (the database was away), read past the
		// proxy.
		waiting := recv.unanswered(prod.deliveries())
		unrecorded, err := notSucceeded(ctx, d)
		if err != nil {
			stopProducing()
			return err
		}
		for _, id := range unrecorded {
			if !slices.Contains(waiting, id) {
				waiting = append(waiting, id)
			}
		}
		recv.expectAgain(unrecorded)
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) && !recv.allMovedSince(waiting, end) {
			time.Sleep(50 * time.Millisecond)
			if left, err := notSucceeded(ctx, d); err == nil {
				recv.recordedBut(left)
			}
		}
		longest, slowest := recv.longestSince(waiting, end)
		results = append(results, result{dr.name, len(waiting), longest, slowest})
		fmt.Printf("  %-40s %4d deliveries waiting; the last moved again %6.2f s after%s\n", dr.name, len(waiting), longest.Seconds(), map[bool]string{true: " (some never did: see below)"}[!recv.allMovedSince(waiting, end)])
	}
	stopProducing()
	<-produced
	ids := prod.deliveries()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && len(recv.unanswered(ids)) > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	lost := recv.unanswered(ids)
	fmt.Printf("  %d events accepted, %d delivered, %d lost; %d requests in all (%d repeats); %d answers other than 202 retried by the producer\n",
		len(ids), len(ids)-len(lost), len(lost), recv.requests(), recv.requests()-len(ids)+len(lost), prod.retries.Load())
	fmt.Println("  fault → every waiting delivery moving again:")
	for _, r := range results {
		fmt.Printf("    %-40s %6.2f s (%s)\n", r.name, r.longest.Seconds(), r.slowest)
	}
	if len(lost) > 0 {
		return fmt.Errorf("%d accepted events never reached the receiver, e.g. %s", len(lost), lost[0])
	}
	return nil
}

// The Redis drill's burst: events whose first attempt the receiver fails.
const (
	burstEvents = 200
	burstPrefix = "evt_rb_burst_"
)

// receiver is the webhook endpoint: it notes when each delivery's
// requests came, answers 204 after hold (503 at once to the first request
// of a burst event), and notes which were answered 204.
type receiver struct {
	hold time.Duration
	mu   sync.Mutex
	got  map[string][]time.Time // webhook-id → request times
	done map[string]bool
	// again are deliveries that were answered but not recorded: only a
	// new request moves them.
	again map[string]bool
	// recorded is when a delivery of again was first seen recorded as
	// succeeded (its attempt's record was only late).
	recorded map[string]time.Time
	n        int
	failed   int
}

func (rc *receiver) failedFirst() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.failed
}

// recordedBut notes the deliveries of again that are no longer among
// left, the deliveries not succeeded.
func (rc *receiver) recordedBut(left []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for id := range rc.again {
		if _, seen := rc.recorded[id]; !seen && !slices.Contains(left, id) {
			rc.recorded[id] = time.Now()
		}
	}
}

// expectAgain marks deliveries whose answer was not recorded.
func (rc *receiver) expectAgain(ids []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	clear(rc.again)
	clear(rc.recorded)
	for _, id := range ids {
		rc.again[id] = true
	}
}

// notSucceeded are the deliveries not recorded as succeeded.
func notSucceeded(ctx context.Context, d *db.DB) ([]string, error) {
	ids, err := db.QueryStrings(ctx, d, `SELECT id FROM deliveries WHERE status <> 'succeeded'`)
	if err != nil {
		return nil, fmt.Errorf("reading deliveries: %w", err)
	}
	return ids, nil
}

func newReceiver(hold time.Duration) *receiver {
	return &receiver{hold: hold, got: map[string][]time.Time{}, done: map[string]bool{}, again: map[string]bool{}, recorded: map[string]time.Time{}}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("webhook-id")
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got[id] = append(rc.got[id], time.Now())
	rc.n++
	fail := len(rc.got[id]) == 1 && bytes.Contains(body, []byte(`"id":"`+burstPrefix))
	if fail {
		rc.failed++
	}
	rc.mu.Unlock()
	if fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	select {
	case <-time.After(rc.hold):
	case <-r.Context().Done():
		return // its worker is gone
	}
	w.WriteHeader(http.StatusNoContent)
	rc.mu.Lock()
	rc.done[id] = true
	rc.mu.Unlock()
}

func (rc *receiver) requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n
}

// unanswered are the deliveries among ids without an answer sent.
func (rc *receiver) unanswered(ids []string) []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, id := range ids {
		if !rc.done[id] {
			out = append(out, id)
		}
	}
	return out
}

// movedAt is when a delivery moved after t: its first request after t,
// or t itself when it was answered meanwhile from a request under way.
func (rc *receiver) movedAt(id string, t time.Time) (time.Time, bool) {
	for _, at := range rc.got[id] {
		if at.After(t) {
			return at, true
		}
	}
	if rc.done[id] && !rc.again[id] {
		return t, true
	}
	if at, ok := rc.recorded[id]; ok {
		return at, true
	}
	return time.Time{}, false
}

func (rc *receiver) allMovedSince(ids []string, t time.Time) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, id := range ids {
		if _, ok := rc.movedAt(id, t); !ok {
			return false
		}
	}
	return true
}

func (rc *receiver) longestSince(ids []string, t time.Time) (time.Duration, string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var (
		longest time.Duration
		slowest = "none waiting"
	)
	for _, id := range ids {
		at, ok := rc.movedAt(id, t)
		if !ok {
			return time.Since(t), id + " never moved"
		}
		if d := at.Sub(t); d >= longest {
			longest, slowest = d, id
		}
	}
	return longest, slowest
}

// producer posts events one by one at its rate, each retried with the
// same id until it is answered 202.
type producer struct {
	api      *apiclient.Client
	rate     float64
	retries  atomic.Int64
	mu       sync.Mutex
	accepted map[string]string // event id → delivery id
}

func (p *producer) run(ctx context.Context) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / p.rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
		id := fmt.Sprintf("evt_rb_%06d", i)
		wg.Go(func() {
			for {
				var acc struct {
					Deliveries []string `json:"deliveries"`
				}
				err := p.api.Post(context.WithoutCancel(ctx), "/v1/events", map[string]any{"id": id, "type": "order.paid", "data": map[string]any{"n": i}}, http.StatusAccepted, &acc)
				if err == nil && len(acc.Deliveries) == 1 {
					p.mu.Lock()
					p.accepted[id] = acc.Deliveries[0]
					p.mu.Unlock()
					return
				}
				p.retries.Add(1)
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}

func (p *producer) accept(eventID, delivery string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.accepted[eventID] = delivery
}

func (p *producer) deliveries() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.accepted))
	for _, d := range p.accepted {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// redisServer is a private redis-server without persistence.
type redisServer struct {
	addr, dir string
	cmd       *exec.Cmd
}

func (r *redisServer) start() error {
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server (is it installed?): %w", err)
	}
	for range 100 {
		if c, err := net.Dial("tcp", r.addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("redis-server did not start")
}

// kill is kill -9.
func (r *redisServer) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

type processes struct {
	bin, dir string
	env      []string
	mu       sync.Mutex
	all      []*process
}

// start runs a liaison subcommand and waits for its /readyz.
func (ps *processes) start(name, sub string, env ...string) (*process, error) {
	logf, err := os.Create(filepath.Join(ps.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(ps.bin, sub)
	cmd.Env = append(slices.Clone(ps.env), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	ps.mu.Lock()
	ps.all = append(ps.all, p)
	ps.mu.Unlock()
	addr := ""
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == "LISTEN_ADDR" || k == "HEALTH_ADDR" {
			addr = v
		}
	}
	for range 300 {
		select {
		case <-p.done:
			log, _ := os.ReadFile(filepath.Join(ps.dir, name+".log"))
			return nil, fmt.Errorf("%s exited:\n%s", name, log)
		default:
		}
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("%s not ready within 15 s", name)
}

func (ps *processes) stopAll() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.all {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range ps.all {
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
		}
	}
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
