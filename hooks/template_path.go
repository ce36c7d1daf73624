package hooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Paths into an event: what a placeholder or a filter field names (a Scope),
// checked once when a template or a filter is compiled and walked, without
// allocating, each time one is rendered or matched.

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
