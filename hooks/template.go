package hooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
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
