package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// healthz says the process is up; it checks nothing else, so that a
// supervisor does not restart a process for a database outage.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Version})
}

// readyz says whether the process can do its work: the database and Redis
// answer. Otherwise it is a 503 problem with Retry-After whose checks and
// failing members say which does not. With ?worker=1 it also sends a system:ping through the queue and
// waits for a worker to answer, which shows that work enqueued here is
// being processed somewhere.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	check := func(name string, f func(context.Context) error) {
		wg.Go(func() {
			status := "ok"
			if err := f(ctx); err != nil {
				// The driver's words can name hosts and users: they go to
				// the log, and the (unauthenticated) answer says only which.
				status = "not answering"
				if ctx.Err() != nil {
					status = "not answering within 3s"
				}
				s.Log.WarnContext(r.Context(), "readiness check failed", "check", name, "error", err)
			}
			mu.Lock()
			checks[name] = status
			mu.Unlock()
		})
	}
	check("database", func(ctx context.Context) error { return s.DB.PingContext(ctx) })
	check("redis", func(ctx context.Context) error { return s.Redis.Ping(ctx).Err() })
	wg.Wait()

	var worker any
	if r.URL.Query().Get("worker") != "" && s.Jobs != nil && checks["redis"] == "ok" {
		pctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		res, err := s.Jobs.PingWorker(pctx)
		if err != nil {
			checks["worker"] = "no worker answered within 5s"
		} else {
			checks["worker"] = "ok"
			worker = res
		}
	}

	var failing []string
	for name, status := range checks {
		if status != "ok" {
			failing = append(failing, name)
		}
	}
	if len(failing) > 0 {
		// Answered like every other route when a backend is out of reach:
		// a 503 problem with Retry-After, here naming what fails.
		slices.Sort(failing)
		p := unavailable()
		p.Detail = "not ready: " + strings.Join(failing, ", ") + " not answering"
		if checks["worker"] != "" && checks["worker"] != "ok" && len(failing) == 1 {
			p.Detail = "not ready: " + checks["worker"]
		}
		p.Checks, p.Failing = checks, failing
		s.fail(w, r, p)
		return
	}
	body := map[string]any{"status": "ready", "checks": checks}
	if worker != nil {
		body["worker"] = worker
	}
	writeJSON(w, http.StatusOK, body)
}

// metrics serves the process's Prometheus metrics. Like /healthz it needs
// no token: scrapers seldom carry one, and no label holds an id, a URL or
// a secret. Keep the port from the public internet if even counts matter.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	s.Metrics.Handler().ServeHTTP(w, r)
}
