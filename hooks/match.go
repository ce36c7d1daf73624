package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// MaxEventTypeLength bounds an event type: long enough for three or four dotted words, short
// enough to index and to show in a list.
const MaxEventTypeLength = 100

// ValidEventType reports whether s is an event type: lower-case dotted words of at least two
// parts, ^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$, at most MaxEventTypeLength bytes
// ("email.opened", "form.submitted", "profile.updated").
func ValidEventType(s string) bool {
	return len(s) <= MaxEventTypeLength && validDotted(s, 2)
}

// ValidEventPattern reports whether s is something MatchType understands: an event type, a
// prefix followed by ".*" ("email.*", "email.link.*"), or "*".
func ValidEventPattern(s string) bool {
	if s == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(s, ".*"); ok {
		return len(s) <= MaxEventTypeLength && validDotted(prefix, 1)
	}
	return ValidEventType(s)
}

// validDotted checks lower-case words of [a-z][a-z0-9_]* joined by dots, at least minParts.
func validDotted(s string, minParts int) bool {
	parts, segLen := 1, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if segLen == 0 {
				return false
			}
			parts, segLen = parts+1, 0
		case 'a' <= c && c <= 'z', segLen > 0 && (isDigit(c) || c == '_'):
			segLen++
		default:
			return false
		}
	}
	return segLen > 0 && parts >= minParts
}

// MatchType reports whether eventType matches one of patterns: an exact type, a prefix with
// a trailing ".*" that matches any type below it ("email.*" matches "email.opened" and
// "email.link.clicked" but not "email"), or "*" for every type.
func MatchType(patterns []string, eventType string) bool {
	for _, p := range patterns {
		if p == "*" || p == eventType {
			return true
		}
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasSuffix(prefix, ".") &&
			len(eventType) > len(prefix) && strings.HasPrefix(eventType, prefix) {
			return true
		}
	}
	return false
}

// ErrInvalidFilter matches (errors.Is) every error of Filter.Validate.
var ErrInvalidFilter = errors.New("invalid filter")

// Filter operators.
const (
	OpEquals    = "equals"
	OpNotEquals = "not_equals"
	OpExists    = "exists"
	OpNotExists = "not_exists"
	OpIn        = "in"
)

// Limits that keep matching cheap: a filter runs for every event against every target.
const (
	MaxFilterConditions = 50
	MaxInValues         = 500
)

// Filter narrows the events a target receives. Every condition in All must hold, and at
// least one in Any when Any is not empty. A nil or empty filter matches every event.
type Filter struct {
	All []Condition `json:"all,omitempty"`
	Any []Condition `json:"any,omitempty"`
}

// Condition tests one field of the scope, named with the template path syntax
// (profile.country, event.type, data.form_id, data.items.0).
//
//   - equals: the field holds Value. Strings, numbers and bools compare within their own
//     kind only: number 5 equals json.Number "5" and 5.0, but string "5" does not equal 5.
//     Numbers compare exactly, so 12345678901234567890 and 12345678901234567891 differ.
//     Objects, arrays and null never equal anything.
//   - not_equals: the negation of equals, so a missing field is not equal.
//   - exists: the field is present and not null. not_exists is its negation.
//   - in: the field equals one element of Value, a non-empty list.
type Condition struct {
	Field string `json:"field"`
	Op    string `json:"op"`
	Value any    `json:"value,omitempty"`
}

// Validate reports every problem at once, each a *FieldError located like
// "filter.all[1].op" and matched by errors.Is(err, ErrInvalidFilter).
func (f *Filter) Validate() error {
	if f == nil {
		return nil
	}
	var errs []error
	if n := len(f.All) + len(f.Any); n > MaxFilterConditions {
		errs = append(errs, filterError("filter", fmt.Errorf("%d conditions; at most %d", n, MaxFilterConditions)))
	}
	for i := range f.All {
		errs = f.All[i].validate(errs, "filter.all["+strconv.Itoa(i)+"]")
	}
	for i := range f.Any {
		errs = f.Any[i].validate(errs, "filter.any["+strconv.Itoa(i)+"]")
	}
	return errors.Join(errs...)
}

func filterError(loc string, err error) error {
	return &FieldError{Field: loc, Err: err, kind: ErrInvalidFilter}
}

func (c *Condition) validate(errs []error, loc string) []error {
	if _, err := parsePath(c.Field); err != nil {
		errs = append(errs, filterError(loc+".field", err))
	}
	switch c.Op {
	case OpEquals, OpNotEquals:
		if c.Value == nil {
			errs = append(errs, filterError(loc+".value", fmt.Errorf("required for %s", c.Op)))
		} else if !isScalar(c.Value) {
			errs = append(errs, filterError(loc+".value", fmt.Errorf("must be a string, number or boolean for %s", c.Op)))
		}
	case OpIn:
		if err := validateList(c.Value); err != nil {
			errs = append(errs, filterError(loc+".value", err))
		}
	case OpExists, OpNotExists:
		if c.Value != nil {
			errs = append(errs, filterError(loc+".value", fmt.Errorf("not allowed for %s", c.Op)))
		}
	default:
		errs = append(errs, filterError(loc+".op", fmt.Errorf("unknown operator %q; expected one of %s, %s, %s, %s, %s",
			c.Op, OpEquals, OpNotEquals, OpExists, OpNotExists, OpIn)))
	}
	return errs
}

// validateList uses reflection: it runs when a hook is saved, not per event.
func validateList(v any) error {
	rv := reflect.ValueOf(v)
	if v == nil || rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return errors.New("must be a list for in")
	}
	if rv.Len() == 0 {
		return errors.New("must not be empty for in")
	}
	if rv.Len() > MaxInValues {
		return fmt.Errorf("%d values; at most %d", rv.Len(), MaxInValues)
	}
	for i := range rv.Len() {
		if !isScalar(rv.Index(i).Interface()) {
			return fmt.Errorf("element %d must be a string, number or boolean", i)
		}
	}
	return nil
}

func isScalar(v any) bool {
	switch x := v.(type) {
	case string, bool:
		return true
	case json.Number:
		return validNumber(string(x))
	case float64:
		return !math.IsInf(x, 0) && !math.IsNaN(x)
	case float32:
		return !math.IsInf(float64(x), 0) && !math.IsNaN(float64(x))
	}
	return isNumber(v)
}

// Match reports whether the event in scope passes the filter. It assumes Validate passed: a
// condition with an unknown operator or a bad field never holds.
func (f *Filter) Match(scope Scope) bool {
	if f == nil {
		return true
	}
	for i := range f.All {
		if !f.All[i].holds(&scope) {
			return false
		}
	}
	if len(f.Any) == 0 {
		return true
	}
	for i := range f.Any {
		if f.Any[i].holds(&scope) {
			return true
		}
	}
	return false
}

func (c *Condition) holds(s *Scope) bool {
	// Parsing the field here allocates nothing and keeps Filter a plain, JSON-shaped value.
	p, err := parsePath(c.Field)
	if err != nil {
		return false
	}
	v, found := s.lookup(p)
	switch c.Op {
	case OpExists:
		return found && v != nil
	case OpNotExists:
		return !found || v == nil
	case OpEquals:
		return found && valuesEqual(v, c.Value)
	case OpNotEquals:
		return !found || !valuesEqual(v, c.Value)
	case OpIn:
		return found && inList(v, c.Value)
	}
	return false
}

func inList(v, list any) bool {
	switch l := list.(type) {
	case []any:
		for _, e := range l {
			if valuesEqual(v, e) {
				return true
			}
		}
		return false
	case []string:
		s, ok := v.(string)
		if !ok {
			return false
		}
		for _, e := range l {
			if e == s {
				return true
			}
		}
		return false
	}
	rv := reflect.ValueOf(list)
	if list == nil || rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return false
	}
	for i := range rv.Len() {
		if valuesEqual(v, rv.Index(i).Interface()) {
			return true
		}
	}
	return false
}

// valuesEqual compares scalars within their kind; see Condition.
func valuesEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return isNumber(a) && isNumber(b) && numbersEqual(a, b)
}

func isNumber(v any) bool {
	switch v.(type) {
	case json.Number, float64, float32, int, int64, int32, int16, int8,
		uint, uint64, uint32, uint16, uint8:
		return true
	}
	return false
}

// numbersEqual compares exactly. Integers that fit in int64 (the usual case) compare without
// allocating; anything else compares as a canonical decimal, which is exact for JSON numbers
// and, for Go floats, uses the shortest text that reads back as the same float, so 5.1 equals
// json.Number "5.1". big.Rat is avoided on purpose: "1e999999999" in an event would make it
// build a huge integer for every comparison.
func numbersEqual(a, b any) bool {
	if x, ok := a.(json.Number); ok {
		if y, ok := b.(json.Number); ok && x == y {
			return true
		}
	}
	if x, ok := asInt64(a); ok {
		if y, ok := asInt64(b); ok {
			return x == y
		}
	}
	var bufA, bufB [32]byte
	x, okA := parseDecimal(numberText(a), bufA[:0])
	y, okB := parseDecimal(numberText(b), bufB[:0])
	return okA && okB && x.neg == y.neg && x.exp == y.exp && string(x.digits) == string(y.digits)
}

// numberText is v as a JSON number, or "" when v is not a finite number.
func numberText(v any) string {
	switch x := v.(type) {
	case json.Number:
		return string(x)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'e', -1, 64)
	case float32:
		if f := float64(x); math.IsInf(f, 0) || math.IsNaN(f) {
			return ""
		}
		return strconv.FormatFloat(float64(x), 'e', -1, 32)
	case uint:
		return strconv.FormatUint(uint64(x), 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	}
	if i, ok := asInt64(v); ok {
		return strconv.FormatInt(i, 10)
	}
	return ""
}

// decimal is a number as ±digits×10^exp with no leading or trailing zeros in digits, so equal
// numbers have equal decimals; zero is empty digits, exp 0, not negative.
type decimal struct {
	neg    bool
	digits []byte
	exp    int
}

func parseDecimal(s string, buf []byte) (decimal, bool) {
	if !validNumber(s) {
		return decimal{}, false
	}
	var d decimal
	if s[0] == '-' {
		d.neg = true
		s = s[1:]
	}
	mant, expText := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, expText = s[:i], s[i+1:]
	}
	if expText != "" {
		e, err := strconv.Atoi(expText)
		if err != nil || e > 1<<30 || e < -(1<<30) {
			return decimal{}, false
		}
		d.exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	d.exp -= len(frac)
	buf = append(buf, intPart...)
	buf = append(buf, frac...)
	for len(buf) > 0 && buf[0] == '0' {
		buf = buf[1:]
	}
	for len(buf) > 0 && buf[len(buf)-1] == '0' {
		buf = buf[:len(buf)-1]
		d.exp++
	}
	if len(buf) == 0 {
		return decimal{}, true
	}
	d.digits = buf
	return d, true
}

func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(x), 10, 64)
		return i, err == nil
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint:
		return int64(x), uint64(x) <= math.MaxInt64
	case uint64:
		return int64(x), x <= math.MaxInt64
	case uint32:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint8:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && x >= -(1<<63) && x < 1<<63 {
			return int64(x), true
		}
	case float32:
		if f := float64(x); f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
			return int64(f), true
		}
	}
	return 0, false
}
