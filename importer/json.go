package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Numbers in JSON feeds come out as float64, as encoding/json gives them,
// with one exception: an integer literal beyond ±2^53, which a float64 would
// round, stays a json.Number holding its exact digits. Ids such as
// 12345678901234 are exact either way, and Mapping.Apply renders an integral
// float64 without an exponent.
const maxExactFloatInt = 1 << 53

// jsonParser reads a JSON array of objects one element at a time: the
// decoder holds one element, never the array.
type jsonParser struct {
	d     *json.Decoder
	guard *recordGuard
	n     int64 // elements read
}

var _ Parser = (*jsonParser)(nil)

func newJSONParser(br *bufio.Reader) (*jsonParser, error) {
	// The decoder reads ahead as far as its buffer reaches, and the buffer
	// doubles to hold a large element: give the guard room for that, so only
	// a truly oversized element trips it.
	guard := &recordGuard{r: br, max: 2 * maxRecordBytes}
	d := json.NewDecoder(guard)
	d.UseNumber()
	tok, err := d.Token()
	if err != nil {
		return nil, fmt.Errorf("reading the start of the JSON feed: %w", err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '[' {
		return nil, fmt.Errorf("the JSON feed must be an array of objects, but it starts with %v", tok)
	}
	guard.mark(d.InputOffset())
	return &jsonParser{d: d, guard: guard}, nil
}

func (p *jsonParser) Next() (Item, error) {
	if !p.d.More() {
		// The closing bracket, or the error that stopped More.
		if _, err := p.d.Token(); err != nil {
			return Item{}, p.fatal(err)
		}
		if tok, err := p.d.Token(); !errors.Is(err, io.EOF) {
			if err != nil {
				return Item{}, p.fatal(err)
			}
			return Item{}, fmt.Errorf("reading the JSON feed: unexpected %v after the closing bracket of the array", tok)
		}
		return Item{}, io.EOF
	}
	p.n++
	var v any
	if err := p.d.Decode(&v); err != nil {
		return Item{}, p.fatal(err)
	}
	p.guard.mark(p.d.InputOffset())
	obj, ok := v.(map[string]any)
	if !ok {
		return Item{}, &RowError{Pos: p.n, Unit: PosItem, Reason: fmt.Sprintf("is %s, not an object", jsonKind(v))}
	}
	plainNumbers(obj)
	return Item{Fields: obj, Pos: p.n, Unit: PosItem}, nil
}

// fatal describes an error that stops the array: after a syntax error the
// decoder cannot find the next element again.
func (p *jsonParser) fatal(err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Errorf("reading item %d of the JSON feed (byte %d): %w", p.n, syntax.Offset, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("reading item %d of the JSON feed: the feed ends inside the array (cut short?): %w", p.n, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("reading item %d of the JSON feed: %w", p.n, err)
}

// jsonlParser reads JSON Lines: one object per line, blank lines skipped. A
// bad line is a RowError and the next line reads as usual, so one broken
// record costs one item.
type jsonlParser struct {
	br   *bufio.Reader
	max  int    // longest line accepted, in bytes
	buf  []byte // the current line; reused
	line int64
}

var _ Parser = (*jsonlParser)(nil)

func newJSONLParser(br *bufio.Reader, maxLine int) (*jsonlParser, error) {
	return &jsonlParser{br: br, max: maxLine}, nil
}

func (p *jsonlParser) Next() (Item, error) {
	for {
		line, tooLong, err := p.readLine()
		if err != nil && !errors.Is(err, io.EOF) {
			return Item{}, fmt.Errorf("reading the feed after line %d: %w", p.line, err)
		}
		if errors.Is(err, io.EOF) && len(line) == 0 && !tooLong {
			return Item{}, io.EOF
		}
		p.line++
		if tooLong {
			return Item{}, &RowError{Pos: p.line, Unit: PosLine, Reason: fmt.Sprintf("the line is longer than %d MiB", p.max>>20)}
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		fields, reason := decodeJSONLine(line)
		if reason != "" {
			return Item{}, &RowError{Pos: p.line, Unit: PosLine, Reason: reason}
		}
		return Item{Fields: fields, Pos: p.line, Unit: PosLine}, nil
	}
}

// readLine reads one line without its end. A line longer than p.max is read
// to its end and dropped, so memory stays bounded and the next line is found.
func (p *jsonlParser) readLine() (line []byte, tooLong bool, err error) {
	p.buf = p.buf[:0]
	for {
		chunk, err := p.br.ReadSlice('\n')
		if !tooLong {
			if len(p.buf)+len(chunk) > p.max {
				tooLong = true
				p.buf = p.buf[:0]
			} else {
				p.buf = append(p.buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return p.buf, tooLong, err
	}
}

// decodeJSONLine decodes one JSON Lines record, or says why it cannot.
func decodeJSONLine(line []byte) (map[string]any, string) {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, "not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, "more than one JSON value on the line"
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Sprintf("is %s, not an object", jsonKind(v))
	}
	plainNumbers(obj)
	return obj, ""
}

// plainNumbers turns the json.Numbers of a decoded value into float64 in
// place, except integers a float64 cannot hold exactly.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x // out of float64's range: keep the digits
		}
		if math.Abs(f) >= maxExactFloatInt && !strings.ContainsAny(string(x), ".eE") {
			return x
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = plainNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = plainNumbers(e)
		}
	}
	return v
}

// jsonKind names the JSON type of a decoded value for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "true or false"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}
