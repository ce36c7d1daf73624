package importer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Item is one record of a feed as parsed: flat field names to values (string,
// float64, bool, nil, []any, map[string]any, as JSON would give; JSON feeds may
// also hold a json.Number for an integer too large for a float64 to keep exact).
//
// Each Item owns its Fields map: a parser never reuses one, so a caller may
// keep or change it.
type Item struct {
	Fields map[string]any
	// Pos is the 1-based line number of the record's start for CSV, TSV and
	// JSON Lines, and the 1-based item index for JSON arrays and XML feeds.
	Pos int64
	// Unit says which of the two Pos counts, so messages read "line 12" or
	// "item 12".
	Unit PosUnit
}

// PosUnit names what a position counts.
type PosUnit string

// The units of Item.Pos and RowError.Pos.
const (
	PosLine PosUnit = "line"
	PosItem PosUnit = "item"
)

// RowError is a bad record: the parser reports it and goes on with the next
// one. Mapping.Apply reports records it cannot use the same way.
type RowError struct {
	Pos    int64
	Field  string // empty when the record as a whole is bad
	Reason string
	Unit   PosUnit // empty reads as "record"
}

// Error reads like "line 12: field price: not a number".
func (e *RowError) Error() string {
	var b strings.Builder
	if e.Pos > 0 {
		unit := string(e.Unit)
		if unit == "" {
			unit = "record"
		}
		b.WriteString(unit)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(e.Pos, 10))
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString("field ")
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Format is the kind of a feed.
type Format string

// The feed formats an import may name.
const (
	FormatAuto  Format = "auto"  // sniffed from the feed's first bytes
	FormatCSV   Format = "csv"   // header row; delimiter , ; or tab, found from the header
	FormatTSV   Format = "tsv"   // header row; tab-separated
	FormatJSON  Format = "json"  // one array of objects
	FormatJSONL Format = "jsonl" // JSON Lines: one object per line
	FormatYML   Format = "yml"   // Yandex Market Language (yml_catalog)
	FormatRSS   Format = "rss"   // Google Merchant RSS 2.0 or Atom
	FormatXML   Format = "xml"   // any XML, items found by ParseOptions.ItemPath
)

var knownFormats = []Format{FormatAuto, FormatCSV, FormatTSV, FormatJSON, FormatJSONL, FormatYML, FormatRSS, FormatXML}

// ParseFormat reads a format name as an import stores it. Case and
// surrounding spaces do not matter; an empty name means auto.
func ParseFormat(s string) (Format, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return FormatAuto, nil
	}
	for _, f := range knownFormats {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(knownFormats))
	for i, f := range knownFormats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown feed format %q: allowed are %s", s, strings.Join(names, ", "))
}

func (f Format) isXML() bool {
	return f == FormatYML || f == FormatRSS || f == FormatXML
}

// ParseOptions tune parsing for formats that need more than the bytes.
type ParseOptions struct {
	// ItemPath finds the items of a generic XML feed: slash-separated local
	// element names, from the root ("catalog/products/product") or below it
	// ("products/product" when the root is catalog).
	ItemPath string
}

// Parser reads a feed one item at a time.
//
// Next returns io.EOF at the end; a *RowError for a bad record, after which
// the caller may go on calling Next; any other error is fatal: the feed cannot
// be read further and every later call returns the same error.
type Parser interface {
	Next() (Item, error)
}

var (
	// ErrFeedIsHTML means the URL answered with a web page, often a login
	// page or an error page, instead of a feed.
	ErrFeedIsHTML = errors.New("the feed is HTML, not XML/CSV/JSON: the URL probably points at a web page (a login or error page?)")
	// ErrEmptyFeed means the body holds nothing but whitespace. It is an error
	// rather than a feed of zero items, so a glitch at the source cannot make
	// an import remove the whole catalogue.
	ErrEmptyFeed = errors.New("the feed is empty")
)

const (
	// readBufferSize is the buffer in front of every feed: large enough to
	// sniff a header line, small enough not to matter.
	readBufferSize = 64 << 10
	// sniffSize is how much DetectFormat looks at.
	sniffSize = 4 << 10
	// maxRecordBytes bounds one record (a CSV row, a JSON element or line, an
	// XML item) so a broken feed cannot make a parser buffer all of it.
	maxRecordBytes = 16 << 20
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// NewParser starts parsing a feed of format f from r. It reads only what it
// needs to sniff the format (and, for XML, up to the root element), so errors
// about the feed as a whole, such as an HTML page, come back here.
func NewParser(r io.Reader, f Format, opts ParseOptions) (Parser, error) {
	f, err := ParseFormat(string(f))
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(r, readBufferSize)
	peek, err := peekFirstLine(br, sniffSize)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading the start of the feed: %w", err)
	}
	if bytes.HasPrefix(peek, utf8BOM) {
		// Every parser below would choke on a BOM or, worse, glue it to the
		// first column name.
		_, _ = br.Discard(len(utf8BOM))
		peek = peek[len(utf8BOM):]
	}
	start := bytes.TrimLeft(peek, " \t\r\n")
	if len(start) == 0 {
		return nil, ErrEmptyFeed
	}
	// A web page is never a feed, whatever format the import names.
	if looksLikeHTML(start) {
		return nil, ErrFeedIsHTML
	}

	if f == FormatAuto && start[0] != '<' {
		// For "<" the XML parser picks YML, RSS/Atom or generic XML from the
		// root element it reads itself, so nothing hangs on the peek having
		// been long enough to show it.
		if f, err = DetectFormat(start); err != nil {
			return nil, err
		}
	}

	var p Parser
	switch {
	case f == FormatCSV || f == FormatTSV:
		p, err = newCSVParser(br, f)
	case f == FormatJSON:
		p, err = newJSONParser(br)
	case f == FormatJSONL:
		p, err = newJSONLParser(br, maxRecordBytes)
	case f.isXML() || f == FormatAuto:
		p, err = newXMLParser(br, f, opts)
	}
	if err != nil {
		return nil, err
	}
	return &stickyParser{p: p}, nil
}

// peekFirstLine returns the buffered start of the feed once it holds a
// whole first line of content (leading blank lines do not count), or limit
// bytes, or the feed ends. It never waits for more than that: a feed that
// trickles in must not stall the run (and its progress reports) until a
// large sniff buffer fills.
func peekFirstLine(br *bufio.Reader, limit int) ([]byte, error) {
	n := 1
	for {
		n = min(max(n, br.Buffered()), limit)
		peek, err := br.Peek(n)
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				err = nil
			}
			return peek, err
		}
		content := bytes.TrimLeft(peek, " \t\r\n")
		if bytes.IndexByte(content, '\n') >= 0 || len(peek) >= limit {
			return peek, nil
		}
		n = len(peek) + 1
	}
}

// DetectFormat guesses a feed's format from its first bytes, as NewParser
// does for FormatAuto: "<" is XML (YML, RSS/Atom or generic by the root
// element; generic when the root is not within peek), "[" a JSON array, "{"
// JSON Lines, anything else CSV, or TSV when tabs separate the header.
func DetectFormat(peek []byte) (Format, error) {
	peek = bytes.TrimPrefix(peek, utf8BOM)
	b := bytes.TrimLeft(peek, " \t\r\n")
	if len(b) == 0 {
		return "", ErrEmptyFeed
	}
	if looksLikeHTML(b) {
		return "", ErrFeedIsHTML
	}
	switch b[0] {
	case '<':
		root, err := readRoot(newXMLDecoder(bytes.NewReader(b)))
		if errors.Is(err, ErrFeedIsHTML) {
			return "", err
		}
		if err != nil {
			return FormatXML, nil
		}
		return formatOfRoot(root.Name), nil
	case '[':
		return FormatJSON, nil
	case '{':
		// A document that opens with a lone "{" line is one pretty-printed
		// object, not JSON Lines; reading it line by line would report every
		// line as a bad record.
		if line, _, complete := bytes.Cut(b, []byte{'\n'}); complete && string(bytes.TrimSpace(line)) == "{" {
			return "", errors.New("the feed is a single JSON object spread over many lines: a JSON array of objects or JSON Lines (one object per line) is expected")
		}
		return FormatJSONL, nil
	}
	if detectDelimiter(b) == '\t' {
		return FormatTSV, nil
	}
	return FormatCSV, nil
}

// looksLikeHTML reports whether b (trimmed of BOM and leading space) starts
// an HTML document.
func looksLikeHTML(b []byte) bool {
	head := b[:min(len(b), 64)]
	lower := bytes.ToLower(head)
	if bytes.HasPrefix(lower, []byte("<!doctype html")) {
		return true
	}
	if rest, ok := bytes.CutPrefix(lower, []byte("<html")); ok {
		return len(rest) == 0 || rest[0] == '>' || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' || rest[0] == '\n'
	}
	return false
}

// stickyParser makes a fatal error (and the end) final: after one, every
// call returns it again, whatever state the underlying parser was left in.
type stickyParser struct {
	p   Parser
	err error
}

func (s *stickyParser) Next() (Item, error) {
	if s.err != nil {
		return Item{}, s.err
	}
	it, err := s.p.Next()
	var rowErr *RowError
	if err != nil && !errors.As(err, &rowErr) {
		s.err = err
	}
	return it, err
}

// recordGuard sits under a parser's decoder and fails once one record has
// run past max bytes: an unclosed quote or a line without end would
// otherwise make the decoder buffer the rest of the feed. The parser calls
// mark at each record boundary with the input offset the record starts at.
type recordGuard struct {
	r     io.Reader
	read  int64 // bytes handed to the decoder so far
	start int64 // input offset where the current record began
	max   int64
}

var errRecordTooLong = fmt.Errorf("a single record is longer than %d MiB: the feed is probably broken (an unclosed quote or element?)", maxRecordBytes>>20)

func (g *recordGuard) Read(p []byte) (int, error) {
	if g.read-g.start > g.max {
		return 0, errRecordTooLong
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	return n, err
}

// mark records that a new record starts at offset off of the guarded input.
func (g *recordGuard) mark(off int64) { g.start = off }
