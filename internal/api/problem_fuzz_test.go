package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/calls"
	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/jsoncheck/jsonbtest"
)

// FuzzDecodeJSON sends fuzzed bodies to the decoder every route uses, for
// the inputs with free-form JSON in them (an event's profile and data, a
// hook's body template, a call's body) and one without. A body it takes is
// one JSON value, UTF-8, with no key given twice anywhere. A body it
// refuses gets a problem whose every field is "body" or a path whose last
// key is a key of the body, so that the client can find what to fix. It
// never panics.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"type":"email.opened","profile":{"email":"a@example.com"},"data":{"n":1}}`,
		`{"type":"x","type":"y"}`,
		`{"type":"x","data":{"items":[{"sku":1,"sku":2}]}}`,
		`{"type":"x","profile":{"s":"\ud800"}}`,
		`{"type":"x\u0000"}`,
		`{"name":"h","body":{"a":"{{event.id}}","a":"x"}}`,
		`{"name":"h","body":{"a":"\u0000"}}`,
		`{"name":"h","max_attempts":"3"}`,
		`{"retry":{"max_attempts":"x"}}`,
		`{"nope":1}`,
		`{"headers":{"X-A":1}}`,
		`{"type":1}`, `[]`, `null`, `"s"`, ``, ` `, `{}{}`, `{"a":`, "{\"type\":\"\xff\"}",
		`{"Type":"x","TYPE":"y"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, into := range []func() any{
			func() any { return new(hooks.EventInput) },
			func() any { return new(hooks.HookInput) },
			func() any { return new(calls.CallInput) },
			func() any { return new(connections.Input) },
		} {
			v := into()
			r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			err := decodeJSON(r, v)
			if err == nil {
				if !json.Valid(body) || !utf8.Valid(body) {
					t.Fatalf("%T took %q, which is not one JSON value in UTF-8", v, body)
				}
				if k, dup := jsonbtest.DuplicateKey(body); dup {
					t.Fatalf("%T took %q, which gives %q twice", v, body, k)
				}
				continue
			}
			fields := problemFields(t, err)
			keys, plain := keysOf(body)
			for _, f := range fields {
				if f.Field == "body" || !plain {
					continue
				}
				last := f.Field
				if i := strings.LastIndexByte(last, '.'); i >= 0 {
					last = last[i+1:]
				}
				if i := strings.IndexByte(last, '['); i >= 0 {
					last = last[:i]
				}
				if !keys[strings.ToLower(last)] {
					t.Fatalf("%T refused %q naming %q (%s), not a key of the body", v, body, f.Field, f.Message)
				}
			}
		}
	})
}

// problemFields are the fields an error names, as its answer would.
func problemFields(t *testing.T, err error) []FieldError {
	t.Helper()
	var p *Problem
	if errors.As(err, &p) {
		if p.Status != 400 && p.Status != 413 && p.Status != 415 && p.Status != 422 || len(p.Errors) == 0 {
			t.Fatalf("a body was refused with %d and no field: %v", p.Status, p)
		}
		return p.Errors
	}
	if e, ok := invalid.As(err); ok && len(e.Fields) > 0 {
		var out []FieldError
		for _, f := range e.Fields {
			if f.Field == "" || f.Message == "" {
				t.Fatalf("a field error without a field or a message: %v", e)
			}
			out = append(out, FieldError{Field: f.Field, Message: f.Message})
		}
		return out
	}
	t.Fatalf("a body was refused with an error that is not a problem: %v", err)
	return nil
}

// keysOf is every key of a JSON document, lower-cased; plain is false when
// the document is not JSON or holds a key that a field path cannot spell
// plainly (with '.', '[', or a character that is not printable ASCII).
func keysOf(doc []byte) (keys map[string]bool, plain bool) {
	keys = map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(doc))
	var inObject []bool // per open value: an object (keys come next)?
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return keys, err.Error() == "EOF" && len(inObject) == 0
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				inObject = append(inObject, true)
				expectKey = true
				continue
			case '[':
				inObject = append(inObject, false)
			default:
				inObject = inObject[:len(inObject)-1]
			}
		case string:
			if expectKey {
				for _, c := range tok {
					if c < 0x20 || c > 0x7e || c == '.' || c == '[' {
						return keys, false
					}
				}
				keys[strings.ToLower(tok)] = true
				expectKey = false
				continue
			}
		}
		expectKey = len(inObject) > 0 && inObject[len(inObject)-1]
	}
}
