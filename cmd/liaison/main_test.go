package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/redistest"
)

// binary is the real liaison binary, built once for the package's tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "liaison-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "liaison")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building liaison: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a started liaison process.
type proc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
}

func (p *proc) stdoutString() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

func (p *proc) stderrString() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String() + p.stderr.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// start runs liaison with exactly the given environment (plus PATH/HOME).
func start(t *testing.T, env map[string]string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), done: make(chan struct{})}
	p.cmd.Dir = t.TempDir()
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout = lockedWriter{&p.mu, &p.stdout}
	p.cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	require.NoError(t, p.cmd.Start())
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("liaison %v output:\n%s", args, p.output())
		}
	})
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop(t *testing.T, within time.Duration) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("liaison did not stop within %s after SIGTERM", within)
	}
	return p.cmd.ProcessState.ExitCode()
}

// apiCaller calls a running web process's API with a token and checks the
// answer's status; the answer is decoded as a JSON object.
func apiCaller(t *testing.T, addr, token string) func(method, path string, body any, want int) map[string]any {
	return func(method, path string, body any, want int) map[string]any {
		t.Helper()
		var rd io.Reader
		if body != nil {
			raw, err := json.Marshal(body)
			require.NoError(t, err)
			rd = bytes.NewReader(raw)
		}
		req, err := http.NewRequest(method, "http://"+addr+path, rd)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var got map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
		require.Equal(t, want, resp.StatusCode, "%s %s answered %v", method, path, got)
		return got
	}
}

// withVar is env with one more variable.
func withVar(env map[string]string, k, v string) map[string]string {
	m := map[string]string{k: v}
	for a, b := range env {
		m[a] = b
	}
	return m
}

// cliToken makes an all-scopes access token the operator's way, with
// `liaison tokens create` (which also migrates the database).
func cliToken(t *testing.T, env map[string]string, name string) string {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	require.Equal(t, 0, run([]string{"tokens", "create", "--name", name, "--scopes", strings.Join(access.AllScopes, ",")}, getenv, &out, &errb), errb.String())
	return strings.TrimSpace(out.String())
}

// handedOut are the addresses freeAddr has returned in this test binary.
var handedOut sync.Map

// freeAddr is a loopback address free now and never returned before: the
// kernel may offer a port again once its listener is closed, before the
// process it was meant for binds it (two processes were once given the
// same port, one then failing with "address already in use").
func freeAddr(t *testing.T) string {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close()
		if _, seen := handedOut.LoadOrStore(addr, true); !seen {
			return addr
		}
	}
}

// startDeployment starts the three processes of a deployment on env (web,
// worker, scheduler) at once, each on an address of its own, and waits
// until every one is ready.
func startDeployment(t *testing.T, env map[string]string) (web, worker, sched *proc, webAddr string) {
	t.Helper()
	webAddr, workerAddr, schedAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	web = start(t, withVar(env, "LISTEN_ADDR", webAddr), "serve")
	worker = start(t, withVar(env, "HEALTH_ADDR", workerAddr), "worker")
	sched = start(t, withVar(env, "HEALTH_ADDR", schedAddr), "scheduler")
	waitReady(t, web, "http://"+webAddr+"/readyz", 15*time.Second)
	waitReady(t, worker, "http://"+workerAddr+"/readyz", 15*time.Second)
	waitReady(t, sched, "http://"+schedAddr+"/readyz", 15*time.Second)
	return web, worker, sched, webAddr
}

// waitReady polls url until it answers 200 or the time is up.
func waitReady(t *testing.T, p *proc, url string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("liaison exited before %s answered:\n%s", url, p.output())
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return body
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer 200 within %s", url, within)
	return nil
}

func TestDevAnswersOnEmbeddedDefaults(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	// Nothing but the listen address: embedded SQLite (in the process's own
	// folder), embedded Redis, a key file made on the spot.
	p := start(t, map[string]string{"LISTEN_ADDR": addr})
	begin := time.Now()
	waitReady(t, p, "http://"+addr+"/healthz", 10*time.Second)
	body := waitReady(t, p, "http://"+addr+"/readyz?worker=1", 10*time.Second)
	require.Less(t, time.Since(begin), 10*time.Second)
	require.Equal(t, "ready", body["status"])
	require.Equal(t, map[string]any{"database": "ok", "redis": "ok", "worker": "ok"}, body["checks"])

	out := p.output()
	require.Contains(t, out, "embedded in-process Redis")
	require.Contains(t, out, "created a new key file")
	require.Contains(t, out, "Liaison is running: open http://")
	st, err := os.Stat(filepath.Join(p.cmd.Dir, "liaison.db.keys"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// A new database gets one all-scopes token, printed once on stdout and
	// never logged; it works against the API.
	secret := regexp.MustCompile(`lsn_[0-9A-Za-z]{49}`).FindString(p.stdoutString())
	require.NotEmpty(t, secret, "dev prints its first access token")
	require.NotContains(t, p.stderrString(), secret, "the token is never logged")
	require.Contains(t, p.stdoutString(), "liaison tokens create --name NAME --scopes a,b")
	require.Regexp(t, `Create the first admin, once, at:\n\n    http://localhost:[0-9]+/setup/[A-Za-z0-9_-]{43}\n`, p.stdoutString(), "a new database prints the setup link")
	// The address and the link it prints open the web UI.
	setup := regexp.MustCompile(`/setup/[A-Za-z0-9_-]{43}`).FindString(p.stdoutString())
	page, err := http.Get("http://" + addr + setup)
	require.NoError(t, err)
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	require.Equal(t, http.StatusOK, page.StatusCode)
	require.Contains(t, string(html), "Create the first admin")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	home, err := noRedirect.Get("http://" + addr + "/")
	require.NoError(t, err)
	home.Body.Close()
	require.Equal(t, http.StatusSeeOther, home.StatusCode)
	require.Equal(t, "/signin", home.Header.Get("Location"))
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/tokens", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.Equal(t, 0, p.stop(t, 30*time.Second))

	// Started again on the same database, it makes no second token.
	again := start(t, map[string]string{"LISTEN_ADDR": addr, "DATABASE_URL": "sqlite:" + filepath.Join(p.cmd.Dir, "liaison.db")})
	waitReady(t, again, "http://"+addr+"/healthz", 10*time.Second)
	require.NotContains(t, again.stdoutString(), "lsn_")
	require.Equal(t, 0, again.stop(t, 30*time.Second))
}

func TestTokensCommand(t *testing.T) {
	t.Parallel()
	database := dbtest.Empty(t)
	env := func(k string) string {
		if k == "DATABASE_URL" {
			return database.URL
		}
		return ""
	}
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"tokens", "create", "--name", "Zapier", "--scopes", "hooks.read, events.write"}, env, &out, &errb), errb.String())
	require.Regexp(t, `^lsn_[0-9A-Za-z]{49}\n$`, out.String(), "create prints the secret and nothing else")
	secret := strings.TrimSpace(out.String())

	out.Reset()
	require.Equal(t, 0, run([]string{"tokens", "list"}, env, &out, &errb))
	require.Contains(t, out.String(), "Zapier")
	require.Contains(t, out.String(), "events.write,hooks.read")
	require.Contains(t, out.String(), secret[:8]+"****")
	require.NotContains(t, out.String(), secret)

	out.Reset()
	errb.Reset()
	require.Equal(t, 2, run([]string{"tokens", "create", "--name", "x", "--scopes", "root"}, env, &out, &errb))
	require.Empty(t, out.String())
	require.Contains(t, errb.String(), `--scopes: "root" is not a scope`)
	require.Equal(t, 2, run([]string{"tokens", "create", "--scopes", "hooks.read"}, env, &out, &errb))
	require.Contains(t, errb.String(), "--name: must not be empty")
}

func TestSeparateProcessesShareTheQueue(t *testing.T) {
	t.Parallel()
	database := dbtest.Empty(t) // the processes migrate it themselves
	env := map[string]string{
		"DATABASE_URL": database.URL,
		"REDIS_URL":    redistest.New(t),
		"SECRET_KEYS":  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	}
	web, worker, sched, webAddr := startDeployment(t, env)

	// The web process enqueues system:ping; the worker process runs it.
	body := waitReady(t, web, "http://"+webAddr+"/readyz?worker=1", 15*time.Second)
	res := body["worker"].(map[string]any)
	require.EqualValues(t, worker.cmd.Process.Pid, res["pid"], "the ping was answered by the worker process")

	for name, p := range map[string]*proc{"web": web, "worker": worker, "scheduler": sched} {
		require.Equal(t, 0, p.stop(t, 30*time.Second), "%s exit code", name)
		require.Contains(t, p.output(), "stopping", name)
	}
}

func TestDevUsesTheSQLiteFileItIsGiven(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "x.db")
	p := start(t, map[string]string{"LISTEN_ADDR": addr, "DATABASE_URL": "sqlite:" + dbPath})
	waitReady(t, p, "http://"+addr+"/readyz", 10*time.Second)
	require.Equal(t, 0, p.stop(t, 30*time.Second))
	require.FileExists(t, dbPath)
	info, err := os.Stat(dbPath + ".keys")
	require.NoError(t, err, "the key file is made beside the database")
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
}

func TestVersionNeedsNoConfiguration(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	code := run([]string{"version"}, func(k string) string {
		return map[string]string{"LOG_LEVEL": "loud", "DATABASE_URL": "mysql://x"}[k]
	}, &out, io.Discard)
	require.Equal(t, 0, code)
	require.Equal(t, "liaison "+version+"\n", out.String())
}

func TestBadConfigurationExitsTwoListingEveryProblem(t *testing.T) {
	t.Parallel()
	p := start(t, map[string]string{
		"LOG_LEVEL":          "loud",
		"WORKER_CONCURRENCY": "0",
		"DATABASE_URL":       "mysql://root:hunter2@db/x",
		"SECRET_KEYS":        "tooshort",
	}, "serve")
	<-p.done
	require.Equal(t, 2, p.cmd.ProcessState.ExitCode())
	out := p.output()
	for _, v := range []string{"LOG_LEVEL", "WORKER_CONCURRENCY", "DATABASE_URL", "SECRET_KEYS"} {
		require.Contains(t, out, v)
	}
	require.NotContains(t, out, "hunter2")
	require.NotContains(t, out, "tooshort")
}

func TestSeparateProcessesRefuseWhatTheyCannotShare(t *testing.T) {
	t.Parallel()
	p := start(t, map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "x.db")}, "worker")
	<-p.done
	require.Equal(t, 2, p.cmd.ProcessState.ExitCode())
	require.Contains(t, p.output(), "REDIS_URL is required")

	p = start(t, map[string]string{"DATABASE_URL": "postgres://nobody@127.0.0.1:1/x", "REDIS_URL": "redis://127.0.0.1:1"}, "serve")
	<-p.done
	require.Equal(t, 2, p.cmd.ProcessState.ExitCode())
	require.Contains(t, p.output(), "SECRET_KEYS is required with PostgreSQL")
}

func TestHelpForEveryCommand(t *testing.T) {
	t.Parallel()
	for _, c := range commands {
		var out, errb bytes.Buffer
		code := run([]string{c.name, "--help"}, func(string) string { return "" }, &out, &errb)
		require.Equal(t, 0, code, c.name)
		require.Contains(t, out.String(), "liaison "+c.name+": ", c.name)
	}
	var out bytes.Buffer
	require.Equal(t, 0, run([]string{"--help"}, func(string) string { return "" }, &out, io.Discard))
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	n := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "  ") {
			n++
		}
	}
	require.Equal(t, len(commands), n)
	require.Equal(t, 2, run([]string{"nonsense"}, func(string) string { return "" }, io.Discard, io.Discard))
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	database := dbtest.Empty(t)
	var out bytes.Buffer
	env := func(k string) string {
		if k == "DATABASE_URL" {
			return database.URL
		}
		return ""
	}
	require.Equal(t, 0, run([]string{"migrate"}, env, &out, io.Discard))
	require.Contains(t, out.String(), "applied 0001_access_tokens")
	out.Reset()
	require.Equal(t, 0, run([]string{"migrate"}, env, &out, io.Discard))
	require.Contains(t, out.String(), "up to date")
	_ = context.Background
}
