package feedgen

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"
)

func write(t *testing.T, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, opts))
	return buf.Bytes()
}

func TestSameOptionsSameFeed(t *testing.T) {
	t.Parallel()

	for _, format := range Formats {
		a := sha256.Sum256(write(t, Options{Format: format, Items: 300, Seed: 7}))
		b := sha256.Sum256(write(t, Options{Format: format, Items: 300, Seed: 7}))
		c := sha256.Sum256(write(t, Options{Format: format, Items: 300, Seed: 8}))
		require.Equal(t, a, b, format)
		require.NotEqual(t, a, c, "%s: another seed gives another feed", format)
	}
}

func TestEachFormatIsWellFormed(t *testing.T) {
	t.Parallel()

	const n = 250
	for _, format := range Formats {
		feed := write(t, Options{Format: format, Items: n, Seed: 1})
		var got int
		switch format {
		case "yml", "rss", "xml":
			item := map[string]string{"yml": "offer", "rss": "item", "xml": "product"}[format]
			d := xml.NewDecoder(bytes.NewReader(feed))
			for {
				tok, err := d.Token()
				if err == io.EOF {
					break
				}
				require.NoError(t, err, format)
				if start, ok := tok.(xml.StartElement); ok && start.Name.Local == item {
					got++
				}
			}
		case "csv", "tsv":
			r := csv.NewReader(bytes.NewReader(feed))
			if format == "tsv" {
				r.Comma = '\t'
			}
			records, err := r.ReadAll()
			require.NoError(t, err, format)
			got = len(records) - 1 // the header
		case "json":
			var items []map[string]any
			require.NoError(t, json.Unmarshal(feed, &items))
			got = len(items)
		case "jsonl":
			for line := range strings.Lines(string(feed)) {
				var item map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &item))
				got++
			}
		}
		if got != n {
			t.Errorf("%s: got %d items; want %d", format, got, n)
		}
	}
}

func TestWindows1251(t *testing.T) {
	t.Parallel()

	feed := write(t, Options{Format: "yml", Items: 50, Seed: 1, Charset: "windows-1251"})
	require.False(t, utf8.Valid(feed), "the feed must be windows-1251 bytes, not UTF-8")
	require.True(t, bytes.HasPrefix(feed, []byte(`<?xml version="1.0" encoding="windows-1251"?>`)))

	decoded, err := charmap.Windows1251.NewDecoder().Bytes(feed)
	require.NoError(t, err)
	utf8Feed := write(t, Options{Format: "yml", Items: 50, Seed: 1})
	want := strings.Replace(string(utf8Feed), `encoding="UTF-8"`, `encoding="windows-1251"`, 1)
	if string(decoded) != want {
		t.Errorf("the windows-1251 feed does not decode to the UTF-8 one")
	}
}

func TestChangedPercentChangesOnlyPrices(t *testing.T) {
	t.Parallel()

	const n = 2000
	read := func(changed float64) [][]string {
		records, err := csv.NewReader(bytes.NewReader(write(t, Options{Format: "csv", Items: n, Seed: 4, ChangedPercent: changed}))).ReadAll()
		require.NoError(t, err)
		return records
	}
	before, after := read(0), read(25)
	require.Equal(t, len(before), len(after))

	const price = 7 // the price column
	require.Equal(t, "price", csvColumns[price])
	changed := 0
	for i := range before {
		if strings.Join(before[i], ",") == strings.Join(after[i], ",") {
			continue
		}
		changed++
		old, now := before[i], after[i]
		require.NotEqual(t, old[price], now[price])
		old[price], now[price] = "", ""
		require.Equal(t, old, now, "record %d differs beyond its price", i)
	}
	if changed < n*20/100 || changed > n*30/100 {
		t.Errorf("got %d changed items of %d; want about 25%%", changed, n)
	}
}

func TestBadOptions(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		opts Options
		want string
	}{
		{Options{Format: "xlsx"}, `unknown format "xlsx": allowed are yml, rss, csv, tsv, json, jsonl, xml`},
		{Options{Format: "csv", Charset: "windows-1251"}, "charset windows-1251 is for yml feeds only, not csv"},
		{Options{Format: "yml", Charset: "koi8-r"}, `unknown charset "koi8-r"`},
		{Options{Format: "yml", Items: -1}, "cannot be negative"},
		{Options{Format: "yml", ChangedPercent: 101}, "between 0 and 100"},
	} {
		err := Write(io.Discard, tt.opts)
		require.ErrorContains(t, err, tt.want)
	}
}

func BenchmarkWrite(b *testing.B) {
	for _, format := range Formats {
		b.Run(format, func(b *testing.B) {
			const items = 10_000
			for b.Loop() {
				if err := Write(io.Discard, Options{Format: format, Items: items, Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(items*b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
