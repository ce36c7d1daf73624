package hooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Action-hook bodies are JSON templates. A template is compiled once, when a hook is saved or
// loaded, into a flat list of segments: runs of static JSON that are copied as they are, and
// placeholders that are resolved against a Scope. Rendering walks that list and appends to one
// buffer; it never parses the template again and never runs code: a placeholder is a path into
// the scope, nothing else.
//
// Rules a user relies on:
//   - A string that is exactly one placeholder, "{{profile.age}}" (spaces inside the braces
//     allowed), becomes the value with its JSON type kept: number, bool, object, array, null.
//   - Placeholders mixed with text interpolate the value's text form: strings raw, numbers
//     and bools as in JSON, objects and arrays as compact JSON, null as nothing. The result
//     is one JSON string, escaped correctly. A value is inserted, never expanded again, so a
//     profile field holding "{{data.x}}" comes out as that text.
//   - Object keys are not templated: a key holding "{{" is a compile error rather than a
//     literal that looks like a placeholder and silently is not one.
//   - The output is compact JSON with the template's key order kept.

var (
	// ErrInvalidTemplate matches (errors.Is) every CompileTemplate error.
	ErrInvalidTemplate = errors.New("invalid template")
	// ErrMissingValue is wrapped by Render when a path has no value under MissingFail. The
	// hook cannot succeed until the event carries the field, so the delivery should fail
	// rather than retry.
	ErrMissingValue = errors.New("missing value")
)

// FieldError names the place in user input that is wrong ("body.contact.name",
// "filter.all[1].op", "secrets[0]"), so the API can point at it.
type FieldError struct {
	Field string
	Err   error
	// kind is the package sentinel the error belongs to (ErrInvalidTemplate, ErrInvalidFilter,
	// ...). It is matched by Is instead of being wrapped into Err, so messages do not repeat
	// "invalid template" in front of every location.
	kind error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of the error's kind.
func (e *FieldError) Is(target error) bool { return e.kind != nil && target == e.kind }

// MissingPolicy says what a template does with a placeholder whose path has no value.
type MissingPolicy uint8

const (
	// MissingNull renders a lone placeholder as null and an interpolated one as nothing. It
	// is the zero value and the default.
	MissingNull MissingPolicy = iota
	// MissingFail makes Render return an error that wraps ErrMissingValue and names the path.
	MissingFail
)

// ParseMissingPolicy reads "null" or "fail"; "" is MissingNull so that an omitted setting
// means the default.
func ParseMissingPolicy(s string) (MissingPolicy, error) {
	switch s {
	case "", "null":
		return MissingNull, nil
	case "fail":
		return MissingFail, nil
	}
	return MissingNull, fmt.Errorf("unknown missing policy %q; expected null or fail", s)
}

func (p MissingPolicy) String() string {
	switch p {
	case MissingNull:
		return "null"
	case MissingFail:
		return "fail"
	}
	return "MissingPolicy(" + strconv.Itoa(int(p)) + ")"
}

// MarshalText lets a MissingPolicy be a JSON field or a database text column.
func (p MissingPolicy) MarshalText() ([]byte, error) {
	if p > MissingFail {
		return nil, fmt.Errorf("unknown missing policy %d", p)
	}
	return []byte(p.String()), nil
}

// UnmarshalText is the inverse of MarshalText.
func (p *MissingPolicy) UnmarshalText(b []byte) error {
	v, err := ParseMissingPolicy(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Template is a compiled JSON body template. It is immutable and safe for concurrent use.
type Template struct {
	segs    []segment
	missing MissingPolicy
	// sizeHint is the static output plus a guess per placeholder: one allocation for most
	// bodies.
	sizeHint int
}

type segKind uint8

const (
	segLiteral segKind = iota // static JSON copied as is
	segValue                  // a string that is exactly one placeholder: keeps the JSON type
	segString                 // a string mixing text and placeholders: always a JSON string
)

type segment struct {
	kind  segKind
	lit   []byte // segLiteral
	path  path   // segValue
	parts []part // segString
	loc   string // where the string sits in the template, for render errors
}

// part is a piece of an interpolated string: text already escaped for JSON, or a path.
type part struct {
	text   string
	path   path
	isPath bool
}

// CompileTemplate parses raw once. Errors are *FieldError values located from the root,
// which is called "body" ("body.contact.name", "body.items[2]"), and wrap ErrInvalidTemplate.
func CompileTemplate(raw json.RawMessage, missing MissingPolicy) (*Template, error) {
	if missing > MissingFail {
		return nil, templateError("body", fmt.Errorf("unknown missing policy %d", missing))
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, templateError("body", errors.New("empty template"))
	}
	c := compiler{dec: json.NewDecoder(bytes.NewReader(raw))}
	// Numbers stay as written: 12345678901234567890 must not pass through float64.
	c.dec.UseNumber()
	if err := c.value("body"); err != nil {
		return nil, err
	}
	if _, err := c.dec.Token(); err != io.EOF {
		return nil, templateError("body", fmt.Errorf("unexpected data after the JSON value at offset %d", c.dec.InputOffset()))
	}
	c.flush()
	return &Template{segs: c.segs, missing: missing, sizeHint: c.size}, nil
}

func templateError(loc string, err error) error {
	return &FieldError{Field: loc, Err: err, kind: ErrInvalidTemplate}
}

type compiler struct {
	dec  *json.Decoder
	lit  []byte // static output not yet closed into a segment
	segs []segment
	size int
}

func (c *compiler) flush() {
	if len(c.lit) == 0 {
		return
	}
	c.segs = append(c.segs, segment{kind: segLiteral, lit: c.lit})
	c.size += len(c.lit)
	c.lit = nil
}

func (c *compiler) dynamic(s segment) {
	c.flush()
	c.segs = append(c.segs, s)
	c.size += 32
}

func (c *compiler) token(loc string) (json.Token, error) {
	tok, err := c.dec.Token()
	if err == io.EOF {
		return nil, templateError(loc, errors.New("unexpected end of JSON"))
	}
	if err != nil {
		return nil, templateError(loc, fmt.Errorf("invalid JSON near offset %d: %w", c.dec.InputOffset(), err))
	}
	return tok, nil
}

func (c *compiler) value(loc string) error {
	tok, err := c.token(loc)
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return c.object(loc)
		case '[':
			return c.array(loc)
		}
		return templateError(loc, fmt.Errorf("unexpected %q", rune(v)))
	case string:
		return c.str(loc, v)
	case json.Number:
		c.lit = append(c.lit, v...)
	case bool:
		c.lit = strconv.AppendBool(c.lit, v)
	case nil:
		c.lit = append(c.lit, "null"...)
	}
	return nil
}

func (c *compiler) object(loc string) error {
	c.lit = append(c.lit, '{')
	var seen map[string]bool
	for i := 0; c.dec.More(); i++ {
		tok, err := c.token(loc)
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return templateError(loc, fmt.Errorf("object key is %v, not a string", tok))
		}
		child := childLocation(loc, key)
		if seen[key] {
			return templateError(child, errors.New("duplicate key"))
		}
		if seen == nil {
			seen = make(map[string]bool)
		}
		seen[key] = true
		if strings.Contains(key, "{{") {
			return templateError(child, errors.New("object keys are not templated; placeholders go in values"))
		}
		if i > 0 {
			c.lit = append(c.lit, ',')
		}
		c.lit = appendString(c.lit, key)
		c.lit = append(c.lit, ':')
		if err := c.value(child); err != nil {
			return err
		}
	}
	if _, err := c.token(loc); err != nil { // '}'
		return err
	}
	c.lit = append(c.lit, '}')
	return nil
}

func (c *compiler) array(loc string) error {
	c.lit = append(c.lit, '[')
	for i := 0; c.dec.More(); i++ {
		if i > 0 {
			c.lit = append(c.lit, ',')
		}
		if err := c.value(loc + "[" + strconv.Itoa(i) + "]"); err != nil {
			return err
		}
	}
	if _, err := c.token(loc); err != nil { // ']'
		return err
	}
	c.lit = append(c.lit, ']')
	return nil
}

func (c *compiler) str(loc, s string) error {
	parts, err := splitPlaceholders(s)
	if err != nil {
		return templateError(loc, err)
	}
	switch {
	case len(parts) == 1 && parts[0].isPath:
		c.dynamic(segment{kind: segValue, path: parts[0].path, loc: loc})
	case hasPath(parts):
		c.dynamic(segment{kind: segString, parts: parts, loc: loc})
	default:
		c.lit = appendString(c.lit, s)
	}
	return nil
}

func hasPath(parts []part) bool {
	for _, p := range parts {
		if p.isPath {
			return true
		}
	}
	return false
}

// splitPlaceholders cuts s into text and {{path}} parts. Text parts are stored escaped.
func splitPlaceholders(s string) ([]part, error) {
	var parts []part
	for s != "" {
		open := strings.Index(s, "{{")
		if open < 0 {
			break
		}
		if open > 0 {
			parts = append(parts, part{text: string(appendEscaped(nil, s[:open]))})
		}
		closing := strings.Index(s[open+2:], "}}")
		if closing < 0 {
			return nil, fmt.Errorf("placeholder %s has no closing }}", snippet(s[open:]))
		}
		end := open + 2 + closing + 2
		p, err := parsePath(strings.TrimSpace(s[open+2 : end-2]))
		if err != nil {
			return nil, fmt.Errorf("placeholder %s: %w", snippet(s[open:end]), err)
		}
		parts = append(parts, part{path: p, isPath: true})
		s = s[end:]
	}
	if s != "" {
		parts = append(parts, part{text: string(appendEscaped(nil, s))})
	}
	return parts, nil
}

// snippet keeps error messages short when a user pastes a long text.
func snippet(s string) string {
	const maxLen = 60
	if len(s) <= maxLen {
		return s
	}
	return s[:maxLen] + "…"
}

// childLocation writes body.contact for plain keys and body["a.b"] for keys a reader could
// not otherwise find again.
func childLocation(loc, key string) string {
	plain := key != ""
	for i := 0; i < len(key) && plain; i++ {
		c := key[i]
		plain = c == '_' || c == '-' || isAlpha(c) || isDigit(c)
	}
	if plain {
		return loc + "." + key
	}
	return loc + "[" + strconv.Quote(key) + "]"
}

// Render builds the body for one event. It fails only under MissingFail, or when a scope
// holds a value JSON cannot carry (NaN, an invalid json.Number).
func (t *Template) Render(scope Scope) ([]byte, error) {
	return t.AppendRender(make([]byte, 0, t.sizeHint), scope)
}

// AppendRender is Render appending to dst, for callers that reuse buffers.
func (t *Template) AppendRender(dst []byte, scope Scope) ([]byte, error) {
	b := dst
	for i := range t.segs {
		sg := &t.segs[i]
		var err error
		switch sg.kind {
		case segLiteral:
			b = append(b, sg.lit...)
		case segValue:
			var found bool
			b, found, err = appendPath(b, &scope, sg.path, false)
			if err == nil && !found {
				if t.missing == MissingFail {
					err = fmt.Errorf("%w: %s", ErrMissingValue, sg.path.raw)
				} else {
					b = append(b, "null"...)
				}
			}
		case segString:
			b = append(b, '"')
			for j := range sg.parts {
				pt := &sg.parts[j]
				if !pt.isPath {
					b = append(b, pt.text...)
					continue
				}
				var found bool
				b, found, err = appendPath(b, &scope, pt.path, true)
				if err == nil && !found && t.missing == MissingFail {
					err = fmt.Errorf("%w: %s", ErrMissingValue, pt.path.raw)
				}
				if err != nil {
					break
				}
			}
			b = append(b, '"')
		}
		if err != nil {
			return dst, fmt.Errorf("rendering %s: %w", sg.loc, err)
		}
	}
	return b, nil
}

// appendPath writes the value at p as JSON (text=false) or as escaped string content
// (text=true). found is false when the path has no value; nothing is written then.
func appendPath(b []byte, s *Scope, p path, text bool) (_ []byte, found bool, _ error) {
	// Event fields are written directly: no boxing, no formatted time string.
	switch p.root {
	case rootEventID:
		return appendStringAs(b, s.Event.ID, text), true, nil
	case rootEventType:
		return appendStringAs(b, s.Event.Type, text), true, nil
	case rootEventOccurredAt:
		if s.Event.OccurredAt.IsZero() {
			return b, false, nil
		}
		if !text {
			b = append(b, '"')
		}
		// RFC 3339 is digits and punctuation only: nothing to escape.
		b = s.Event.OccurredAt.AppendFormat(b, time.RFC3339Nano)
		if !text {
			b = append(b, '"')
		}
		return b, true, nil
	}
	v, ok := s.lookup(p)
	if !ok {
		return b, false, nil
	}
	var err error
	if text {
		b, err = appendText(b, v)
	} else {
		b, err = appendJSON(b, v)
	}
	return b, true, err
}

func appendStringAs(b []byte, s string, text bool) []byte {
	if text {
		return appendEscaped(b, s)
	}
	return appendString(b, s)
}

// Scope is what templates and filters can see of one event. Profile and Data hold what
// encoding/json produces when decoding into any with UseNumber (see DecodeObject):
// map[string]any, []any, string, json.Number, bool and nil. Go numbers are accepted too, and
// any other value is rendered through encoding/json but cannot be walked into.
type Scope struct {
	Event   EventInfo
	Profile map[string]any
	Data    map[string]any
}

// EventInfo is the part of an event that templates reach as event.id, event.type and
// event.occurred_at. It is typed, not a map, so building a Scope costs nothing.
type EventInfo struct {
	ID   string
	Type string
	// OccurredAt renders as RFC 3339 with its own offset; the zero time counts as missing.
	OccurredAt time.Time
}

// DecodeObject decodes a JSON object for a Scope with numbers kept as json.Number, so that a
// profile's 12345678901234567890 is rendered and compared exactly. Empty input and null give
// a nil map.
func DecodeObject(raw []byte) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding JSON object: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decoding JSON object: unexpected data after the object")
	}
	return m, nil
}

type root uint8

const (
	rootEvent root = iota + 1
	rootEventID
	rootEventType
	rootEventOccurredAt
	rootProfile
	rootData
)

// path is a checked placeholder or filter field. Only the root is resolved ahead of time;
// the rest is walked segment by segment with strings.Cut, which allocates nothing.
type path struct {
	raw  string // as written, for messages
	root root
	rest string // segments below profile or data; "" is the whole object
}

// parsePath checks a path against ^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*$ and a known
// root. event has only id, type and occurred_at, so anything else under it is an error now
// rather than a null later.
func parsePath(s string) (path, error) {
	if !validPathSyntax(s) {
		return path{}, fmt.Errorf("invalid path %q: want dotted names such as profile.email or data.items.0", s)
	}
	head, rest, _ := strings.Cut(s, ".")
	switch head {
	case "profile":
		return path{raw: s, root: rootProfile, rest: rest}, nil
	case "data":
		return path{raw: s, root: rootData, rest: rest}, nil
	case "event":
		switch rest {
		case "":
			return path{raw: s, root: rootEvent}, nil
		case "id":
			return path{raw: s, root: rootEventID}, nil
		case "type":
			return path{raw: s, root: rootEventType}, nil
		case "occurred_at":
			return path{raw: s, root: rootEventOccurredAt}, nil
		}
		return path{}, fmt.Errorf("invalid path %q: event has id, type and occurred_at", s)
	}
	return path{}, fmt.Errorf("invalid path %q: must start with event, profile or data", s)
}

func validPathSyntax(s string) bool {
	if s == "" || !(s[0] == '_' || isAlpha(s[0])) {
		return false
	}
	first, segLen := true, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if segLen == 0 {
				return false
			}
			first, segLen = false, 0
		case c == '_' || isAlpha(c) || isDigit(c), c == '-' && !first:
			segLen++
		default:
			return false
		}
	}
	return segLen > 0
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// lookup resolves p. ok is false when any segment is absent, when an index is out of range,
// or when a segment meets a value that is neither object nor array. An explicit null is found.
func (s *Scope) lookup(p path) (any, bool) {
	switch p.root {
	case rootEventID:
		return s.Event.ID, true
	case rootEventType:
		return s.Event.Type, true
	case rootEventOccurredAt:
		if s.Event.OccurredAt.IsZero() {
			return nil, false
		}
		return s.Event.OccurredAt.Format(time.RFC3339Nano), true
	case rootEvent:
		m := map[string]any{"id": s.Event.ID, "type": s.Event.Type}
		if !s.Event.OccurredAt.IsZero() {
			m["occurred_at"] = s.Event.OccurredAt.Format(time.RFC3339Nano)
		}
		return m, true
	case rootProfile:
		if s.Profile == nil {
			return nil, false
		}
		return walk(s.Profile, p.rest)
	case rootData:
		if s.Data == nil {
			return nil, false
		}
		return walk(s.Data, p.rest)
	}
	return nil, false
}

func walk(v any, rest string) (any, bool) {
	for rest != "" {
		var seg string
		seg, rest, _ = strings.Cut(rest, ".")
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[seg]; !ok {
				return nil, false
			}
		case []any:
			i, ok := arrayIndex(seg, len(c))
			if !ok {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// arrayIndex accepts plain decimal indexes only: "0", "12"; not "-1", "+1" or "01".
func arrayIndex(seg string, n int) (int, bool) {
	if seg == "" || len(seg) > 9 || (len(seg) > 1 && seg[0] == '0') {
		return 0, false
	}
	i := 0
	for j := 0; j < len(seg); j++ {
		if !isDigit(seg[j]) {
			return 0, false
		}
		i = i*10 + int(seg[j]-'0')
	}
	return i, i < n
}

// The JSON writers below exist so that rendering costs one buffer rather than a reflective
// json.Marshal per value. They follow encoding/json except that <, > and & are written as
// they are: a webhook body is not HTML.

func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case json.Number:
		if !validNumber(string(x)) {
			return b, fmt.Errorf("invalid number %q", string(x))
		}
		return append(b, x...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		return appendFloat(b, x, 64)
	case float32:
		return appendFloat(b, float64(x), 32)
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case map[string]any:
		return appendObject(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
	return appendMarshaled(b, v)
}

// appendObject sorts keys, as encoding/json does, so equal scopes give equal bodies.
func appendObject(b []byte, m map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendJSON(b, m[k]); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendMarshaled is the slow path for values a scope should rarely hold (time.Time,
// json.RawMessage, typed maps and slices).
func appendMarshaled(b []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b, fmt.Errorf("encoding %T: %w", v, err)
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...), nil
}

// appendText writes v's text form as the inside of a JSON string: strings raw, numbers and
// bools as in JSON, null as nothing, objects and arrays as compact JSON.
func appendText(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return b, nil
	case string:
		return appendEscaped(b, x), nil
	case json.Number, bool, float64, float32, int, int64, int32, uint, uint64, uint32:
		// Digits, letters, '.', '+' and '-': nothing to escape.
		return appendJSON(b, v)
	}
	start := len(b)
	b, err := appendJSON(b, v)
	if err != nil {
		return b[:start], err
	}
	text := string(b[start:])
	// A typed value that marshals to a JSON string (time.Time, say) reads like a string:
	// without its quotes.
	var s string
	if text[0] == '"' && json.Unmarshal([]byte(text), &s) == nil {
		text = s
	}
	return appendEscaped(b[:start], text), nil
}

func appendFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, fmt.Errorf("unsupported number %v", f)
	}
	// Like encoding/json: plain digits between 1e-6 and 1e21, exponent outside.
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// 1e-07 reads better as 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendEscaped writes s as the inside of a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028 and U+2029 escaped
// because JavaScript parsers once treated them as line ends. Everything else is kept as is.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// validNumber reports whether s is a JSON number, so that a json.Number built by hand cannot
// break the body.
func validNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
		if s == "" {
			return false
		}
	}
	switch {
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		s = s[1:]
		for s != "" && isDigit(s[0]) {
			s = s[1:]
		}
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && isDigit(s[1]) {
		s = s[2:]
		for s != "" && isDigit(s[0]) {
			s = s[1:]
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			if s == "" {
				return false
			}
		}
		for s != "" && isDigit(s[0]) {
			s = s[1:]
		}
	}
	return s == ""
}
