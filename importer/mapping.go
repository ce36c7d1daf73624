package importer

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultExternalID is the field that identifies an item when a mapping
// names none.
const DefaultExternalID = "id"

// Mapping says how a feed's items become catalogue items: which field
// identifies an item across runs, and which fields to keep under which names.
//
// Source names may be dotted to reach into nested values: "params.Цвет" is
// the Цвет entry of the params map, "picture.0" the first picture. A name
// that exists as a whole ("g.price", a CSV column with a dot) is taken as it
// is first.
type Mapping struct {
	ExternalID string `json:"external_id"`
	// Fields maps source names to output names; when empty, every field is
	// kept under its own name.
	Fields map[string]string `json:"fields,omitempty"`
}

// Validate reports every problem of a mapping at once.
func (m Mapping) Validate() error {
	var errs []error
	if err := checkSourceName(m.externalID()); err != nil {
		errs = append(errs, fmt.Errorf("external id: %w", err))
	}
	sources := make([]string, 0, len(m.Fields))
	for src := range m.Fields {
		sources = append(sources, src)
	}
	sort.Strings(sources) // so the same mapping always reads the same
	usedBy := map[string]string{}
	for _, src := range sources {
		dst := strings.TrimSpace(m.Fields[src])
		if err := checkSourceName(src); err != nil {
			errs = append(errs, fmt.Errorf("field %q: %w", src, err))
		}
		if dst == "" {
			errs = append(errs, fmt.Errorf("field %q: the output name is empty", src))
			continue
		}
		if other, ok := usedBy[dst]; ok {
			errs = append(errs, fmt.Errorf("fields %q and %q both map to %q", other, src, dst))
			continue
		}
		usedBy[dst] = src
	}
	return errors.Join(errs...)
}

func checkSourceName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("the source name is empty")
	case strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, ".."):
		return fmt.Errorf("%q has an empty step between dots", name)
	}
	return nil
}

func (m Mapping) externalID() string {
	if strings.TrimSpace(m.ExternalID) == "" {
		return DefaultExternalID
	}
	return strings.TrimSpace(m.ExternalID)
}

// Apply turns a parsed item into its external id and the fields to store.
// An item without a usable id is a *RowError, as a bad record is. Source
// fields missing from the item are left out. With no Fields, the item's own
// map is returned, not a copy.
func (m Mapping) Apply(it Item) (externalID string, fields map[string]any, err error) {
	idField := m.externalID()
	v, ok := lookupField(it.Fields, idField)
	if !ok || v == nil {
		return "", nil, &RowError{Pos: it.Pos, Unit: it.Unit, Field: idField, Reason: "missing external id"}
	}
	id, reason := idString(v)
	if reason != "" {
		return "", nil, &RowError{Pos: it.Pos, Unit: it.Unit, Field: idField, Reason: reason}
	}
	if id == "" {
		return "", nil, &RowError{Pos: it.Pos, Unit: it.Unit, Field: idField, Reason: "missing external id"}
	}
	// The id is a text key in the catalogue: PostgreSQL refuses a NUL in text, and bytes that
	// are not UTF-8, failing the whole batch the item is in.
	switch {
	case strings.ContainsRune(id, 0):
		return "", nil, &RowError{Pos: it.Pos, Unit: it.Unit, Field: idField, Reason: "external id holds a NUL character (\\u0000), which cannot be a key"}
	case !utf8.ValidString(id):
		return "", nil, &RowError{Pos: it.Pos, Unit: it.Unit, Field: idField, Reason: "external id is not UTF-8 text"}
	}

	if len(m.Fields) == 0 {
		return id, it.Fields, nil
	}
	fields = make(map[string]any, len(m.Fields))
	for src, dst := range m.Fields {
		if v, ok := lookupField(it.Fields, src); ok {
			fields[strings.TrimSpace(dst)] = v
		}
	}
	return id, fields, nil
}

// idString renders an id value as text, or says why it cannot be one.
// Integral numbers render without exponent or fraction: 12345678901234, not
// 1.2345678901234e+13.
func idString(v any) (string, string) {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), ""
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", "external id is not a finite number"
		}
		return strconv.FormatFloat(x, 'f', -1, 64), ""
	case json.Number:
		return x.String(), ""
	case bool:
		return "", "external id is true or false, not a text or number"
	case []any:
		return "", "external id is a list, not a single value"
	case map[string]any:
		return "", "external id is an object, not a single value"
	}
	return fmt.Sprint(v), ""
}

// lookupField finds a possibly dotted name in a value: a map's key, or a
// list's index.
func lookupField(v any, name string) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		if found, ok := x[name]; ok {
			return found, true
		}
		// Try every split at a dot, shortest key first: keys may hold dots.
		for i := 0; i < len(name); i++ {
			if name[i] != '.' {
				continue
			}
			if inner, ok := x[name[:i]]; ok {
				if found, ok := lookupField(inner, name[i+1:]); ok {
					return found, true
				}
			}
		}
	case []any:
		step, rest, more := strings.Cut(name, ".")
		i, err := strconv.Atoi(step)
		if err != nil || i < 0 || i >= len(x) {
			return nil, false
		}
		if !more {
			return x[i], true
		}
		return lookupField(x[i], rest)
	}
	return nil, false
}

// ContentHash is the SHA-256 of the canonical JSON form of an item's fields
// (encoding/json writes map keys sorted), so an item that has not changed
// hashes the same on every run and any change of a value changes the hash.
func ContentHash(fields map[string]any) []byte {
	h := sha256.New()
	enc := json.NewEncoder(h)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fields); err != nil {
		// Only a value JSON cannot hold (NaN, a channel) gets here, and no
		// parser makes one. fmt prints maps sorted too, so the hash is
		// still stable for the same fields.
		h.Reset()
		fmt.Fprintf(h, "%#v", fields)
	}
	return h.Sum(nil)
}
