package main

import (
	"context"
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
	"strings"
	"time"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/importer"
	"github.com/liaison/liaison/importer/feedgen"
	"github.com/liaison/liaison/internal/db"
)

func main() {
	items := flag.Int("items", 1_000_000, "items in the generated feed")
	format := flag.String("format", "csv", "feed format: "+strings.Join(feedgen.Formats, ", "))
	runs := flag.Int("runs", 1, "runs of the same feed (the second and later find every item unchanged)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(*items, *format, *runs); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "importbench:", err)
		os.Exit(1)
	}
}

// publicSender fetches plain URLs through the guard, loopback opened.
type publicSender struct{ c *http.Client }

func (p publicSender) Do(ctx context.Context, _ string, req *http.Request) (*http.Response, error) {
	return p.c.Do(req.WithContext(ctx))
}

func run(items int, format string, runs int) error {
	ctx := context.Background()
	d, dialect, cleanup, err := db.OpenBench(ctx, os.Getenv("DATABASE_URL"), "importbench")
	if err != nil {
		return err
	}
	defer cleanup()

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := feedgen.Write(w, feedgen.Options{Format: format, Items: items, Seed: 1}); err != nil {
			fmt.Fprintln(os.Stderr, "importbench: generating feed:", err)
		}
	}))
	defer srv.Close()

	g := connections.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	sender := publicSender{c: &http.Client{Transport: g.Transport()}}
	store, err := importer.NewStore(importer.StoreOptions{DB: d})
	if err != nil {
		return err
	}
	runner, err := importer.NewRunner(importer.RunnerOptions{Store: store, Sender: sender, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	name, f, path := "bench", format, ""
	if format == "xml" {
		path = feedgen.XMLItemPath
	}
	limit := "24h"
	im, err := store.Create(ctx, importer.Input{Name: &name, URL: &srv.URL, Format: &f, ItemPath: &path, TimeLimit: &limit}, nil)
	if err != nil {
		return err
	}
	fmt.Printf("importbench: %d %s items into %s, %s, %d CPU\n", items, format, dialect, runtime.Version(), runtime.NumCPU())
	for i := range runs {
		r, err := store.NewRun(ctx, im.ID, "manual")
		if err != nil {
			return err
		}
		start := time.Now()
		if err := runner.Execute(ctx, r.ID); err != nil {
			return err
		}
		took := time.Since(start)
		r, err = store.GetRun(ctx, r.ID)
		if err != nil {
			return err
		}
		if r.Status != importer.StatusSucceeded {
			return fmt.Errorf("run %d ended %s: %s", i+1, r.Status, r.Message)
		}
		fmt.Printf("run %d: %s in %s: %.0f items/s, %.1f MB read; created %d, updated %d, unchanged %d, removed %d, bad %d\n",
			i+1, r.Status, took.Round(time.Millisecond), float64(r.Items)/took.Seconds(), float64(r.Bytes)/1e6,
			r.Counts.Created, r.Counts.Updated, r.Counts.Unchanged, r.Counts.Removed, r.Counts.Bad)
	}
	fmt.Printf("peak resident memory (VmHWM): %s\n", peakRSS())
	return nil
}

func peakRSS() string {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown (no /proc)"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
