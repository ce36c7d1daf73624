package importer

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// csvParser reads CSV and TSV feeds with a header row, per RFC 4180: quoted
// fields may hold delimiters, newlines and doubled quotes; in TSV a quote
// inside a value is just a character. Every value is a
// string. A column whose name repeats in the header collects its non-empty
// values into a []any (as repeated XML elements do); a column without a name
// is ignored.
type csvParser struct {
	r       *csv.Reader
	guard   *recordGuard
	header  []string
	repeats map[string]bool // names that appear in more than one column
	line    int64           // line of the last record read, for fatal errors
}

var _ Parser = (*csvParser)(nil)

func newCSVParser(br *bufio.Reader, f Format) (*csvParser, error) {
	comma := '\t'
	if f == FormatCSV {
		// The header line is all it takes: feeds that call
		// themselves CSV are often separated by semicolons (spreadsheets in
		// locales with a decimal comma) or tabs.
		peek, _ := peekFirstLine(br, readBufferSize)
		comma = rune(detectDelimiter(peek))
	}
	guard := &recordGuard{r: br, max: maxRecordBytes}
	r := csv.NewReader(guard)
	r.Comma = comma
	r.ReuseRecord = true
	r.FieldsPerRecord = -1 // a short or long row is a RowError, reported by Next
	// A tab-separated feed is rarely quoted but often holds inch marks
	// (22" LED TV): read quotes lazily there, strictly in CSV.
	r.LazyQuotes = comma == '\t'

	rec, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, ErrEmptyFeed
	}
	if err != nil {
		return nil, fmt.Errorf("reading the %s header row: %w", strings.ToUpper(string(f)), err)
	}
	guard.mark(r.InputOffset())

	p := &csvParser{r: r, guard: guard, header: make([]string, len(rec)), repeats: map[string]bool{}}
	seen := map[string]bool{}
	for i, name := range rec {
		if !utf8.ValidString(name) {
			return nil, fmt.Errorf("the %s header row: column %d %s", strings.ToUpper(string(f)), i+1, notUTF8)
		}
		name = strings.TrimSpace(name)
		p.header[i] = name
		if name == "" {
			continue
		}
		if seen[name] {
			p.repeats[name] = true
		}
		seen[name] = true
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("the %s header row names no column", strings.ToUpper(string(f)))
	}
	return p, nil
}

func (p *csvParser) Next() (Item, error) {
	for {
		rec, err := p.r.Read()
		if errors.Is(err, io.EOF) {
			return Item{}, io.EOF
		}
		if errors.Is(err, errRecordTooLong) {
			return Item{}, fmt.Errorf("reading the feed after line %d: %w", p.line, err)
		}
		var parseErr *csv.ParseError
		if errors.As(err, &parseErr) {
			// encoding/csv has consumed the bad record's lines: the next Read
			// starts on the record after it.
			p.guard.mark(p.r.InputOffset())
			p.line = int64(parseErr.Line)
			reason := parseErr.Err.Error()
			if parseErr.Line != parseErr.StartLine {
				reason = fmt.Sprintf("%s (at line %d)", reason, parseErr.Line)
			}
			return Item{}, &RowError{Pos: int64(parseErr.StartLine), Unit: PosLine, Reason: reason}
		}
		if err != nil {
			return Item{}, fmt.Errorf("reading the feed after line %d: %w", p.line, err)
		}
		p.guard.mark(p.r.InputOffset())
		line, _ := p.r.FieldPos(0)
		p.line = int64(line)

		// encoding/csv skips empty lines; a line of spaces is as blank.
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(p.header) {
			return Item{}, &RowError{
				Pos: p.line, Unit: PosLine,
				Reason: fmt.Sprintf("has %d fields; the header has %d", len(rec), len(p.header)),
			}
		}
		for i, v := range rec {
			if !utf8.ValidString(v) && p.header[i] != "" {
				return Item{}, &RowError{Pos: p.line, Unit: PosLine, Field: p.header[i], Reason: notUTF8}
			}
		}
		return Item{Fields: p.fields(rec), Pos: p.line, Unit: PosLine}, nil
	}
}

// notUTF8 explains a value that is not UTF-8. A CSV feed cannot declare its encoding, as XML
// can, so one written in a legacy code page shows up as bytes that are not UTF-8; stored as
// they are, they would be refused by PostgreSQL or come back as U+FFFD.
const notUTF8 = "is not UTF-8 text: a CSV or TSV feed must be UTF-8 (is it in another encoding, such as windows-1251?)"

func (p *csvParser) fields(rec []string) map[string]any {
	fields := make(map[string]any, len(rec))
	for i, v := range rec {
		name := p.header[i]
		switch {
		case name == "":
		case p.repeats[name]:
			list, _ := fields[name].([]any)
			if v != "" {
				list = append(list, v)
			}
			if list == nil {
				list = []any{}
			}
			fields[name] = list
		default:
			fields[name] = v
		}
	}
	return fields
}

// detectDelimiter picks the delimiter of a header line among comma,
// semicolon and tab: the one that occurs most often outside quotes, comma
// on a tie or when none occurs (a one-column feed).
func detectDelimiter(b []byte) byte {
	counts := map[byte]int{}
	inQuotes := false
scan:
	for _, c := range b {
		switch {
		case c == '"':
			inQuotes = !inQuotes
		case inQuotes:
		case c == '\n':
			break scan
		case c == ',' || c == ';' || c == '\t':
			counts[c]++
		}
	}
	best := byte(',')
	for _, c := range []byte{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}
