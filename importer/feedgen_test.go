package importer

import (
	"errors"
	"io"
	"runtime"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/liaison/liaison/importer/feedgen"
	"github.com/stretchr/testify/require"
)

// generatedFeed streams a generated feed through a pipe, as a download would
// arrive: the parser never sees it whole.
func generatedFeed(t testing.TB, opts feedgen.Options) io.Reader {
	t.Helper()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(feedgen.Write(pw, opts)) }()
	// Closing the reader ends the writer if a test stops reading early.
	t.Cleanup(func() { pr.Close() })
	return pr
}

// formatOf is the importer's name for a generator format.
func formatOf(t testing.TB, name string) Format {
	t.Helper()
	f, err := ParseFormat(name)
	require.NoError(t, err)
	return f
}

func TestGeneratedFeedsRoundTrip(t *testing.T) {
	t.Parallel()

	const n = 1000
	for _, name := range feedgen.Formats {
		for _, declared := range []Format{FormatAuto, formatOf(t, name)} {
			t.Run(name+"/as "+string(declared), func(t *testing.T) {
				t.Parallel()

				feed := generatedFeed(t, feedgen.Options{Format: name, Items: n, Seed: 42})
				p, err := NewParser(feed, declared, ParseOptions{ItemPath: feedgen.XMLItemPath})
				require.NoError(t, err)

				count := 0
				for {
					it, err := p.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					require.NoError(t, err, "item %d", count+1)
					id, fields, err := Mapping{}.Apply(it)
					require.NoError(t, err)
					if want := strconv.Itoa(feedgen.FirstID + count); id != want {
						t.Fatalf("item %d: got id %q; want %q", count+1, id, want)
					}
					require.NotEmpty(t, fields["price"], "item %s has a price", id)
					count++
				}
				if count != n {
					t.Errorf("got %d items; want %d", count, n)
				}
			})
		}
	}
}

func TestGeneratedYMLInWindows1251(t *testing.T) {
	t.Parallel()

	feed := generatedFeed(t, feedgen.Options{Format: "yml", Items: 200, Seed: 3, Charset: "windows-1251"})
	p, err := NewParser(feed, FormatAuto, ParseOptions{})
	require.NoError(t, err)
	items, bad, err := drain(p)
	require.NoError(t, err)
	require.Empty(t, bad)
	require.Len(t, items, 200)
	for _, it := range items {
		name, _ := it.Fields["name"].(string)
		require.True(t, utf8.ValidString(name), "got %q", name)
		require.NotEmpty(t, it.Fields["category_path"])
		params, _ := it.Fields["params"].(map[string]any)
		require.Contains(t, params, "Цвет")
		require.Contains(t, params["Вес"], " кг")
	}
}

// TestChangedPricesShowInTheContentHash re-imports a feed in which some
// prices moved: exactly those items hash differently, and only their prices
// differ.
func TestChangedPricesShowInTheContentHash(t *testing.T) {
	t.Parallel()

	const n = 1000
	for _, name := range []string{"csv", "yml", "json"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			read := func(changed float64) map[string]map[string]any {
				feed := generatedFeed(t, feedgen.Options{Format: name, Items: n, Seed: 9, ChangedPercent: changed})
				p, err := NewParser(feed, FormatAuto, ParseOptions{})
				require.NoError(t, err)
				items, bad, err := drain(p)
				require.NoError(t, err)
				require.Empty(t, bad)
				byID := map[string]map[string]any{}
				for _, it := range items {
					id, fields, err := Mapping{}.Apply(it)
					require.NoError(t, err)
					byID[id] = fields
				}
				require.Len(t, byID, n)
				return byID
			}
			before, after := read(0), read(10)

			updated := 0
			for id, old := range before {
				now := after[id]
				if string(ContentHash(old)) == string(ContentHash(now)) {
					continue
				}
				updated++
				for k, v := range now {
					if k != "price" {
						require.Equal(t, old[k], v, "item %s field %s", id, k)
					}
				}
				require.NotEqual(t, old["price"], now["price"], "item %s", id)
			}
			// About 10 %: the binomial spread for 1000 items is about 1 %.
			if updated < n*5/100 || updated > n*15/100 {
				t.Errorf("got %d updated items of %d; want about 10%%", updated, n)
			}
		})
	}
}

// TestParsingStreams parses feeds far larger than the heap limit it checks:
// only a parser that streams stays under it. It does not run in parallel,
// because the heap it measures is the whole test binary's.
func TestParsingStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("parses feeds of a hundred megabytes and more")
	}
	const (
		items   = 200_000
		maxHeap = 50 << 20
	)
	for _, name := range []string{"yml", "json", "csv"} {
		t.Run(name, func(t *testing.T) {
			runtime.GC()
			feed := &countingReader{r: generatedFeed(t, feedgen.Options{Format: name, Items: items, Seed: 1})}
			p, err := NewParser(feed, FormatAuto, ParseOptions{})
			require.NoError(t, err)

			var stats runtime.MemStats
			var peak uint64
			count := 0
			for {
				_, err := p.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				count++
				if count%10_000 == 0 {
					runtime.ReadMemStats(&stats)
					peak = max(peak, stats.HeapInuse)
				}
			}
			require.Equal(t, items, count)
			t.Logf("%s: %d items, %d MB of feed, peak heap in use %d MB", name, count, feed.n>>20, peak>>20)
			require.Greater(t, feed.n, int64(maxHeap), "the feed must be larger than the heap limit to prove anything")
			if peak > maxHeap {
				t.Errorf("got a peak heap in use of %d MB; want under %d MB", peak>>20, maxHeap>>20)
			}
		})
	}
}

// BenchmarkParse measures parsing generated feeds, generation included.
func BenchmarkParse(b *testing.B) {
	for _, name := range feedgen.Formats {
		b.Run(name, func(b *testing.B) {
			const items = 10_000
			for b.Loop() {
				feed := &countingReader{r: generatedFeed(b, feedgen.Options{Format: name, Items: items, Seed: 1})}
				p, err := NewParser(feed, FormatAuto, ParseOptions{ItemPath: feedgen.XMLItemPath})
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := p.Next(); errors.Is(err, io.EOF) {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(feed.n)
			}
			b.ReportMetric(float64(items*b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
