package apptest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Received is one request a receiver got.
type Received struct {
	At     time.Time
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Receiver is an httptest server that records every request and answers
// with what Answer says for the nth request (0-based); a nil Answer
// answers 200.
type Receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []Received
	Answer func(n int, r *http.Request, w http.ResponseWriter)
}

// NewReceiver starts a Receiver that answers with answer, closed when the
// test ends.
func NewReceiver(t *testing.T, answer func(n int, r *http.Request, w http.ResponseWriter)) *Receiver {
	t.Helper()
	rc := &Receiver{Answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, Received{At: time.Now(), Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
		rc.mu.Unlock()
		if rc.Answer == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		rc.Answer(n, r, w)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// Requests is every request received so far, in order.
func (rc *Receiver) Requests() []Received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Received(nil), rc.got...)
}

// WaitFor waits up to 10 s for n requests and returns those received.
func (rc *Receiver) WaitFor(t *testing.T, n int) []Received {
	t.Helper()
	require.Eventually(t, func() bool { return len(rc.Requests()) >= n }, 10*time.Second, 5*time.Millisecond,
		"receiver got %d requests; want %d", len(rc.Requests()), n)
	return rc.Requests()
}

// AnswerWith answers every request with status, header and body.
func AnswerWith(status int, header http.Header, body string) func(int, *http.Request, http.ResponseWriter) {
	return func(_ int, _ *http.Request, w http.ResponseWriter) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// AnswerStatuses answers the nth request with statuses[n], and 200 after.
func AnswerStatuses(statuses ...int) func(int, *http.Request, http.ResponseWriter) {
	return func(n int, _ *http.Request, w http.ResponseWriter) {
		if n < len(statuses) {
			w.WriteHeader(statuses[n])
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

// RefusedUntilAllowed is a receiver that answers 401 (a credential it
// refuses) until allow is called, and 200 after.
func RefusedUntilAllowed(t *testing.T) (rc *Receiver, allow func()) {
	var allowed atomic.Bool
	rc = NewReceiver(t, func(_ int, _ *http.Request, w http.ResponseWriter) {
		if !allowed.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	return rc, func() { allowed.Store(true) }
}

// SlowReceiver answers 200 after hold, and most reports the most requests
// it has had in flight at once (read without holding its lock across an
// assertion: a failing one would leave the receiver blocked).
func SlowReceiver(t *testing.T, hold time.Duration) (rc *Receiver, most func() int) {
	t.Helper()
	var mu sync.Mutex
	inFlight, peak := 0, 0
	rc = NewReceiver(t, func(_ int, _ *http.Request, w http.ResponseWriter) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		time.Sleep(hold)
		mu.Lock()
		inFlight--
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	return rc, func() int {
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
