package connections_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/secret"
)

// The child role of TestRefreshOnceAcrossProcesses: the test binary started
// again with childEnv set acts as one worker process.
const (
	childEnv      = "LIAISON_REFRESH_CHILD"
	childDB       = "LIAISON_CHILD_DATABASE_URL"
	childRedis    = "LIAISON_CHILD_REDIS_URL"
	childKeys     = "LIAISON_CHILD_SECRET_KEYS"
	childConn     = "LIAISON_CHILD_CONNECTION"
	childCalls    = "LIAISON_CHILD_CALLS"
	childRedirect = "LIAISON_CHILD_REDIRECT_URI"
)

type childResult struct {
	PID    int      `json:"pid"`
	OK     int      `json:"ok"`
	Errors []string `json:"errors"`
}

// runRefreshChild opens the database and Redis the parent named, says
// "ready", waits for "go" on stdin so every process starts at once, fires
// its calls concurrently through one connection and prints a childResult.
func runRefreshChild() int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 2 }
	ctx := context.Background()
	d, err := db.Open(ctx, os.Getenv(childDB))
	if err != nil {
		return fail(err)
	}
	defer d.Close()
	// Four of these next to the test's own pools must fit in PostgreSQL's
	// default 100 connections.
	d.SetMaxOpenConns(12)
	d.SetMaxIdleConns(12)
	ropt, err := redis.ParseURL(os.Getenv(childRedis))
	if err != nil {
		return fail(err)
	}
	ropt.PoolSize = 64
	rc := redis.NewClient(ropt)
	defer rc.Close()
	var keys [][]byte
	for _, k := range strings.Split(os.Getenv(childKeys), ",") {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return fail(err)
		}
		keys = append(keys, b)
	}
	ring, err := secret.NewRing(keys)
	if err != nil {
		return fail(err)
	}
	svc, err := connections.New(connections.Options{
		DB: d, Redis: rc, Ring: ring, RedirectURI: os.Getenv(childRedirect), Version: "child",
		AllowedCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Events:       &connections.StoreEvents{DB: d},
	})
	if err != nil {
		return fail(err)
	}
	defer svc.Close()
	n, _ := strconv.Atoi(os.Getenv(childCalls))
	id := os.Getenv(childConn)

	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fail(err)
	}
	res := childResult{PID: os.Getpid()}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := func() error {
				cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
				defer cancel()
				req, err := http.NewRequestWithContext(cctx, http.MethodPost, "/calls/"+strconv.Itoa(i), strings.NewReader(`{"n":`+strconv.Itoa(i)+`}`))
				if err != nil {
					return err
				}
				resp, err := svc.Do(cctx, id, req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("status %d: %s", resp.StatusCode, body)
				}
				return nil
			}()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Errors = append(res.Errors, err.Error())
				return
			}
			res.OK++
		})
	}
	wg.Wait()
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return fail(err)
	}
	return 0
}

type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
}

// TestRefreshOnceAcrossProcesses: several worker processes, hundreds of
// concurrent calls each, one connection whose token has just expired:
// exactly one refresh request reaches the provider (which rotates refresh
// tokens and revokes the grant on a reuse), and every call succeeds. The
// second round has the provider refuse the token (401) while Liaison still
// believes it valid: the forced refresh is once per expiry too.
func TestRefreshOnceAcrossProcesses(t *testing.T) {
	t.Parallel()
	const processes, calls = 4, 150
	b := setup(t)
	p, v := b.connectedRotating(t)

	round := func(name string, expire func()) {
		children := make([]*child, processes)
		for i := range children {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(),
				childEnv+"=1", childDB+"="+b.db.URL, childRedis+"="+b.redisURL, childKeys+"="+keysEnv(b.keys),
				childConn+"="+v.ID, childCalls+"="+strconv.Itoa(calls), childRedirect+"="+testRedirectURI)
			cmd.Stderr = tWriter{t}
			stdin, err := cmd.StdinPipe()
			require.NoError(t, err)
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			c := &child{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(out)}
			line, err := c.stdout.ReadString('\n')
			require.NoError(t, err, "%s: child %d did not get ready", name, i)
			require.Equal(t, "ready\n", line)
			children[i] = c
		}
		expire()
		before := p.TokenRequestsByGrant("refresh_token")
		for _, c := range children {
			_, err := io.WriteString(c.stdin, "go\n")
			require.NoError(t, err)
		}
		pids := map[int]bool{}
		for i, c := range children {
			line, err := c.stdout.ReadString('\n')
			require.NoError(t, err, "%s: child %d", name, i)
			var res childResult
			require.NoError(t, json.Unmarshal([]byte(line), &res))
			require.Empty(t, res.Errors, "%s: child %d", name, i)
			require.Equal(t, calls, res.OK, "%s: child %d", name, i)
			require.NoError(t, c.cmd.Wait())
			pids[res.PID] = true
		}
		require.Len(t, pids, processes, "separate OS processes")
		require.Equal(t, 1, p.TokenRequestsByGrant("refresh_token")-before, "%s: exactly one refresh reached the provider", name)
		require.False(t, p.GrantRevoked(), "%s: no refresh token was used twice", name)
	}

	round("expired in the store", func() {
		p.ExpireAll()
		b.expireInDB(t, v.ID)
	})
	round("refused by the target", p.ExpireAll)
}
