package importer

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// parseAll reads a feed to its end and returns its items and bad records;
// a fatal error fails the test.
func parseAll(t *testing.T, feed string, f Format, opts ParseOptions) ([]Item, []*RowError) {
	t.Helper()
	p, err := NewParser(strings.NewReader(feed), f, opts)
	require.NoError(t, err)
	items, bad, err := drain(p)
	require.NoError(t, err)
	return items, bad
}

// drain reads p to its end or to its first fatal error.
func drain(p Parser) ([]Item, []*RowError, error) {
	var items []Item
	var bad []*RowError
	for {
		it, err := p.Next()
		var rowErr *RowError
		switch {
		case errors.Is(err, io.EOF):
			return items, bad, nil
		case errors.As(err, &rowErr):
			bad = append(bad, rowErr)
		case err != nil:
			return items, bad, err
		default:
			items = append(items, it)
		}
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()

	for in, want := range map[string]Format{
		"":      FormatAuto,
		"auto":  FormatAuto,
		" CSV ": FormatCSV,
		"tsv":   FormatTSV,
		"json":  FormatJSON,
		"JSONL": FormatJSONL,
		"yml":   FormatYML,
		"rss":   FormatRSS,
		"xml":   FormatXML,
	} {
		got, err := ParseFormat(in)
		require.NoError(t, err, in)
		if got != want {
			t.Errorf("ParseFormat(%q) = %q; want %q", in, got, want)
		}
	}

	_, err := ParseFormat("excel")
	require.ErrorContains(t, err, `unknown feed format "excel"`)
	require.ErrorContains(t, err, "auto, csv, tsv, json, jsonl, yml, rss, xml")
}

func TestRowErrorReadsPlainly(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		err  RowError
		want string
	}{
		{RowError{Pos: 12, Unit: PosLine, Field: "price", Reason: "not a number"}, "line 12: field price: not a number"},
		{RowError{Pos: 3, Unit: PosItem, Reason: "is a number, not an object"}, "item 3: is a number, not an object"},
		{RowError{Pos: 7, Field: "id", Reason: "missing external id"}, "record 7: field id: missing external id"},
		{RowError{Reason: "bad"}, "bad"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q; want %q", got, tt.want)
		}
	}
}

func TestDetectFormat(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		name string
		peek string
		want Format
	}{
		{"yml", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<!DOCTYPE yml_catalog SYSTEM "shops.dtd"><yml_catalog date="2024-01-01">`, FormatYML},
		{"yml in windows-1251", `<?xml version="1.0" encoding="windows-1251"?><yml_catalog date="2024-01-01"><shop>`, FormatYML},
		{"rss", `<?xml version="1.0"?><rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel>`, FormatRSS},
		{"atom", `<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0"><title>`, FormatRSS},
		{"feed root that is not atom", `<feed><product id="1"/></feed>`, FormatXML},
		{"generic xml with a comment first", "<!-- export -->\n<catalog><products>", FormatXML},
		{"xml cut before the root", `<?xml version="1.0"?><!-- a long comment`, FormatXML},
		{"json array", "  \n[{\"id\": 1}]", FormatJSON},
		{"json lines", "{\"id\": 1}\n{\"id\": 2}\n", FormatJSONL},
		{"csv", "id,title,price\n1,a,2\n", FormatCSV},
		{"csv with semicolons", "id;title;price\n1;a;2\n", FormatCSV},
		{"tsv", "id\ttitle\tprice\n1\ta\t2\n", FormatTSV},
		{"bom", "\ufeffid,title\n", FormatCSV},
	} {
		got, err := DetectFormat([]byte(tt.peek))
		require.NoError(t, err, tt.name)
		if got != tt.want {
			t.Errorf("%s: got %q; want %q", tt.name, got, tt.want)
		}
	}

	_, err := DetectFormat([]byte("{\n  \"products\": [\n"))
	require.ErrorContains(t, err, "single JSON object")
	_, err = DetectFormat([]byte(" \n\t"))
	require.ErrorIs(t, err, ErrEmptyFeed)
}

func TestAutoParsesEveryFormat(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		name string
		feed string
		opts ParseOptions
	}{
		{"csv", "id,title\n1,Chair\n", ParseOptions{}},
		{"tsv", "id\ttitle\n1\tChair\n", ParseOptions{}},
		{"json", `[{"id": 1, "title": "Chair"}]`, ParseOptions{}},
		{"jsonl", `{"id": 1, "title": "Chair"}` + "\n", ParseOptions{}},
		{"yml", `<yml_catalog><shop><offers><offer id="1"><title>Chair</title></offer></offers></shop></yml_catalog>`, ParseOptions{}},
		{"rss", `<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>1</g:id><title>Chair</title></item></channel></rss>`, ParseOptions{}},
		{"atom", `<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0"><entry><g:id>1</g:id><title>Chair</title></entry></feed>`, ParseOptions{}},
		{"xml", `<catalog><product id="1"><title>Chair</title></product></catalog>`, ParseOptions{ItemPath: "catalog/product"}},
	} {
		items, bad := parseAll(t, tt.feed, FormatAuto, tt.opts)
		require.Empty(t, bad, tt.name)
		require.Len(t, items, 1, tt.name)
		id, fields, err := Mapping{}.Apply(items[0])
		require.NoError(t, err, tt.name)
		if id != "1" || fields["title"] != "Chair" {
			t.Errorf("%s: got id %q, title %q; want %q, %q", tt.name, id, fields["title"], "1", "Chair")
		}
	}
}

func TestGenericXMLWithoutItemPathNeedsOne(t *testing.T) {
	t.Parallel()

	_, err := NewParser(strings.NewReader(`<catalog><product id="1"/></catalog>`), FormatAuto, ParseOptions{})
	require.ErrorContains(t, err, `root element is <catalog>`)
	require.ErrorContains(t, err, "item path")

	_, err = NewParser(strings.NewReader(`<catalog><product id="1"/></catalog>`), FormatXML, ParseOptions{})
	require.ErrorContains(t, err, "needs an item path")
}

func TestHTMLIsNotAFeed(t *testing.T) {
	t.Parallel()

	// Pages that start like HTML are refused whatever format the import
	// names; XHTML, which starts like XML, by the XML formats and auto.
	pages := []struct {
		name     string
		page     string
		xmlStart bool
	}{
		{"html5", "\n<!DOCTYPE html>\n<html lang=\"en\"><head><title>Sign in</title><meta charset=\"utf-8\"></head><body><form>", false},
		{"no doctype", "<html><body>502 Bad Gateway</body></html>", false},
		{"upper case", "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"><HTML>", false},
		{"xhtml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>Login</title></head></html>", true},
		{"xhtml doctype", "<?xml version=\"1.0\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n<html>", true},
	}
	for _, tt := range pages {
		formats := []Format{FormatAuto, FormatYML, FormatRSS, FormatXML}
		if !tt.xmlStart {
			formats = append(formats, FormatCSV, FormatTSV, FormatJSON, FormatJSONL)
		}
		for _, f := range formats {
			_, err := NewParser(strings.NewReader(tt.page), f, ParseOptions{ItemPath: "a/b"})
			require.ErrorIs(t, err, ErrFeedIsHTML, "%s as %s", tt.name, f)
			require.ErrorContains(t, err, "the feed is HTML, not XML")
		}
	}
}

// TestFeedWithoutItems: a feed that is well formed but lists nothing gives
// no items and no bad rows; it is not an error.
func TestFeedWithoutItems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, feed string
		format     Format
	}{
		{"csv header only", "id,title\n", FormatCSV},
		{"json empty array", "[]", FormatAuto},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			items, bad := parseAll(t, tc.feed, tc.format, ParseOptions{})
			require.Empty(t, items)
			require.Empty(t, bad)
		})
	}
}

func TestEmptyFeedIsAnError(t *testing.T) {
	t.Parallel()

	for _, f := range knownFormats {
		_, err := NewParser(strings.NewReader("\ufeff \r\n "), f, ParseOptions{ItemPath: "a/b"})
		require.ErrorIs(t, err, ErrEmptyFeed, string(f))
	}
}

func TestUnknownFormatIsRefused(t *testing.T) {
	t.Parallel()

	_, err := NewParser(strings.NewReader("id\n1\n"), Format("xlsx"), ParseOptions{})
	require.ErrorContains(t, err, `unknown feed format "xlsx"`)
}

// failingFeed gives some bytes, then an error, as a dropped connection does.
type failingFeed struct {
	data string
	err  error
}

func (r *failingFeed) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadErrorIsFatalAndSticks(t *testing.T) {
	t.Parallel()

	lost := errors.New("connection reset by peer")
	header := "id,title\n" + strings.Repeat("1,Chair\n", 10_000) // more than the sniffing buffer
	p, err := NewParser(&failingFeed{data: header, err: lost}, FormatCSV, ParseOptions{})
	require.NoError(t, err)
	items, _, err := drain(p)
	require.ErrorIs(t, err, lost)
	require.Len(t, items, 10_000)
	_, again := p.Next()
	require.ErrorIs(t, again, lost)
}
