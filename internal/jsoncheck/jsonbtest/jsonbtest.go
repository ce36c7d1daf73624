package jsonbtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"unicode/utf8"
)

var (
	escape = regexp.MustCompile(`\\(?:u([0-9a-fA-F]{4})|.)`)
	number = regexp.MustCompile(`^-?([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$`)
)

// Storable is nil when PostgreSQL 15's jsonb would take doc: UTF-8, JSON,
// no \u0000, every surrogate escape half of a pair, every number within
// numeric's range (at most 16383 digits after the decimal point and 131072
// before it).
func Storable(doc []byte) error {
	if !utf8.Valid(doc) {
		return errors.New("not UTF-8")
	}
	if !json.Valid(doc) {
		return errors.New("not JSON")
	}
	return walk(doc, func(tok any, raw []byte) error {
		switch t := tok.(type) {
		case string:
			return checkEscapes(raw[bytes.IndexByte(raw, '"'):])
		case json.Number:
			return checkNumber(string(t))
		}
		return nil
	})
}

// DuplicateKey names the first key given twice in one object, as
// encoding/json decodes keys.
func DuplicateKey(doc []byte) (string, bool) {
	type open struct {
		keys      map[string]bool // nil for an array
		expectKey bool
	}
	var stack []*open
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].expectKey = true
		}
	}
	var (
		found string
		dup   bool
	)
	_ = walk(doc, func(tok any, _ []byte) error {
		if n := len(stack); n > 0 && stack[n-1].expectKey {
			if k, ok := tok.(string); ok {
				if stack[n-1].keys[k] {
					found, dup = k, true
					return io.EOF
				}
				stack[n-1].keys[k] = true
				stack[n-1].expectKey = false
				return nil
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &open{keys: map[string]bool{}, expectKey: true})
		case json.Delim('['):
			stack = append(stack, &open{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
		return nil
	})
	return found, dup
}

func walk(doc []byte, each func(tok any, raw []byte) error) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var prev int64
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		end := dec.InputOffset()
		if err := each(tok, doc[prev:end]); err != nil {
			return err
		}
		prev = end
	}
}

func checkEscapes(lit []byte) error {
	ms := escape.FindAllSubmatchIndex(lit, -1)
	for i := 0; i < len(ms); i++ {
		m := ms[i]
		if m[2] < 0 {
			continue
		}
		u, _ := strconv.ParseUint(string(lit[m[2]:m[3]]), 16, 32)
		switch {
		case u == 0:
			return errors.New(`\u0000`)
		case u >= 0xdc00 && u <= 0xdfff:
			return fmt.Errorf(`lone low surrogate \u%04x`, u)
		case u >= 0xd800 && u <= 0xdbff:
			if i+1 >= len(ms) || ms[i+1][0] != m[1] || ms[i+1][2] < 0 {
				return fmt.Errorf(`lone high surrogate \u%04x`, u)
			}
			lo, _ := strconv.ParseUint(string(lit[ms[i+1][2]:ms[i+1][3]]), 16, 32)
			if lo < 0xdc00 || lo > 0xdfff {
				return fmt.Errorf(`lone high surrogate \u%04x`, u)
			}
			i++
		}
	}
	return nil
}

func checkNumber(n string) error {
	m := number.FindStringSubmatch(n)
	if m == nil {
		return fmt.Errorf("%s is no number", n)
	}
	exp := 0
	if m[3] != "" {
		e, err := strconv.Atoi(m[3])
		if err != nil || e > 1<<20 || e < -(1<<20) {
			return fmt.Errorf("%s overflows numeric", n)
		}
		exp = e
	}
	if len(m[2])-exp > 16383 || len(m[1])+exp > 131072 {
		return fmt.Errorf("%s overflows numeric", n)
	}
	return nil
}
