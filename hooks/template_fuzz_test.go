package hooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"
)

// decodeExact decodes one JSON value with numbers kept as written, as DecodeObject does for
// a scope.
func decodeExact(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("more than one value")
	}
	return v, nil
}

// FuzzTemplateValue renders "{{data.v}}", a string that is exactly one path, against a scope
// whose data.v is the fuzzed JSON value, and checks the hand-written JSON writer against
// encoding/json: the body is valid JSON and decodes to what the input decodes to, numbers
// kept digit for digit.
func FuzzTemplateValue(f *testing.F) {
	for _, s := range []string{
		`null`, `true`, `false`, `0`, `-0`, `12345678901234567890`, `-1.5e-300`, `1E+400`, `0.1`,
		`""`, `"plain"`, `"quote \" backslash \\ slash \/"`, `"\u0000\u001f\u007f"`, `"\b\f\n\r\t"`,
		`"\u2028\u2029"`, `"\ud800"`, `"\udc00x"`, `"\ud83d\ude00 😀"`, `"<script>&amp;</script>"`,
		`"{{data.x}}"`, "\"\xff\xfe invalid\"", "\"\xed\xa0\x80\"",
		`[]`, `{}`, `[1,"a",null,[{}],{"k":[true]}]`, `{"b":1,"a":2,"":3,"\u0000":4}`,
		`{"dup":1,"dup":2}`, `{"deep":{"deeper":{"deepest":[[[["x"]]]]}}}`,
		`{"\ud800":"lone surrogate key"}`,
	} {
		f.Add([]byte(s))
	}
	tmpl, err := CompileTemplate(json.RawMessage(`"{{data.v}}"`), MissingFail)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		want, err := decodeExact(input)
		if err != nil {
			t.Skip("not one JSON value")
		}
		out, err := tmpl.Render(Scope{Data: map[string]any{"v": want}})
		if err != nil {
			t.Fatalf("Render(%q): %v", input, err)
		}
		if !json.Valid(out) {
			t.Fatalf("Render(%q) = %q: not valid JSON", input, out)
		}
		if !utf8.Valid(out) {
			t.Fatalf("Render(%q) = %q: not valid UTF-8", input, out)
		}
		got, err := decodeExact(out)
		if err != nil {
			t.Fatalf("decoding Render(%q) = %q: %v", input, out, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Render(%q) = %q; decodes to %#v; want %#v", input, out, got, want)
		}
		// Interpolated into text, the value still gives one valid JSON string.
		mixed, err := CompileTemplate(json.RawMessage(`"<{{data.v}}>"`), MissingNull)
		if err != nil {
			t.Fatal(err)
		}
		out, err = mixed.Render(Scope{Data: map[string]any{"v": want}})
		if err != nil {
			t.Fatalf("Render mixed (%q): %v", input, err)
		}
		var s string
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatalf("Render mixed (%q) = %q: %v", input, out, err)
		}
		if str, ok := want.(string); ok && s != "<"+str+">" {
			t.Fatalf("Render mixed (%q) = %q; want the string <%s>", input, s, str)
		}
	})
}

// FuzzTemplateString checks the string escaper on arbitrary Go strings, including invalid
// UTF-8 that no JSON decoder would produce, in every place a string can be written: a value,
// an object key, interpolated text and the event's own fields.
func FuzzTemplateString(f *testing.F) {
	for _, s := range []string{"", "a", "\x00", "\x7f", "\"\\", "\u2028", "\xff", "\xed\xa0\x80", "\xe2\x80", "😀", "\xf0\x9f\x98"} {
		f.Add(s)
	}
	tmpl, err := CompileTemplate(json.RawMessage(`{"v":"{{profile.s}}","o":"{{profile}}","t":"[{{profile.s}}]","id":"{{event.id}}","type":"x{{event.type}}"}`), MissingFail)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		scope := Scope{
			Event:   EventInfo{ID: s, Type: s, OccurredAt: time.Now()},
			Profile: map[string]any{"s": s, s: s},
		}
		out, err := tmpl.Render(scope)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("Render(%q) = %q: not valid UTF-8 JSON", s, out)
		}
		// encoding/json is the reference: it also writes invalid UTF-8 as U+FFFD.
		ref, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var want string
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		var got struct {
			V    string         `json:"v"`
			O    map[string]any `json:"o"`
			T    string         `json:"t"`
			ID   string         `json:"id"`
			Type string         `json:"type"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("Render(%q) = %q: %v", s, out, err)
		}
		if got.V != want || got.T != "["+want+"]" || got.ID != want || got.Type != "x"+want || got.O[want] != want {
			t.Fatalf("Render(%q) = %q; want every field to read %q", s, out, want)
		}
	})
}

// FuzzTemplateFloat checks numbers a scope holds as Go floats against encoding/json byte for
// byte: the writer promises the same form (plain digits between 1e-6 and 1e21).
func FuzzTemplateFloat(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 1e-7, 9.999999e-7, 1e20, 1e21, 1e21 - 1, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, float64(math.MaxFloat32), 3.4028235e38} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		for _, x := range []any{v, float32(v)} {
			got, gotErr := appendJSON(nil, x)
			want, wantErr := json.Marshal(x)
			if (gotErr != nil) != (wantErr != nil) {
				t.Fatalf("appendJSON(%T %v) error %v; encoding/json error %v", x, x, gotErr, wantErr)
			}
			if gotErr == nil && !bytes.Equal(got, want) {
				t.Fatalf("appendJSON(%T %v) = %s; encoding/json writes %s", x, x, got, want)
			}
		}
	})
}

// FuzzTemplateCompile compiles any input and, when it compiles, renders it against a scope
// built from fuzzed JSON: compiling never panics, errors are FieldErrors that match
// ErrInvalidTemplate, and every body rendered is valid JSON.
func FuzzTemplateCompile(f *testing.F) {
	seeds := []struct{ tmpl, profile, data string }{
		{`{"email":"{{profile.email}}","age":"{{ profile.age }}","all":"{{data}}"}`, `{"email":"a@b.c","age":42}`, `{"x":[1,2]}`},
		{`["{{data.items.0}}","{{data.items.1.name}}","n={{data.n}}"]`, `{}`, `{"items":[{"a":1},{"name":"\u2028"}],"n":12345678901234567890}`},
		{`"{{event}} {{event.id}} {{event.type}} {{event.occurred_at}}"`, `null`, `null`},
		{`{"a":{"b":{"c":"{{profile.a.b.c}}"}},"lit":[1,2.5e3,true,false,null,"x"]}`, `{"a":{"b":{"c":"\ud800"}}}`, `{}`},
		{`"{{data.x"`, `{}`, `{}`},
		{`{"{{k}}":1}`, `{}`, `{}`},
		{`{"a":1,"a":2}`, `{}`, `{}`},
		{`"{{profile..x}}"`, `{}`, `{}`},
		{`"{{event.nope}}"`, `{}`, `{}`},
		{`[1,2]x`, `{}`, `{}`},
		{"\"\xff{{data.x}}\"", `{}`, `{"x":"\u0000"}`},
		{`"{{}}"`, `{}`, `{}`},
		{`   `, `{}`, `{}`},
		{`{"k":"{{data.a-b}}"}`, `{}`, `{"a-b":1}`},
	}
	for _, s := range seeds {
		f.Add(s.tmpl, []byte(s.profile), []byte(s.data), false)
		f.Add(s.tmpl, []byte(s.profile), []byte(s.data), true)
	}
	f.Fuzz(func(t *testing.T, raw string, profile, data []byte, fail bool) {
		missing := MissingNull
		if fail {
			missing = MissingFail
		}
		tmpl, err := CompileTemplate(json.RawMessage(raw), missing)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidTemplate) {
				t.Fatalf("CompileTemplate(%q) error %v (%T) is not a *FieldError matching ErrInvalidTemplate", raw, err, err)
			}
			return
		}
		if !json.Valid([]byte(raw)) {
			t.Fatalf("CompileTemplate(%q) accepted invalid JSON", raw)
		}
		p, err := DecodeObject(profile)
		if err != nil {
			p = nil
		}
		d, err := DecodeObject(data)
		if err != nil {
			d = nil
		}
		scope := Scope{Event: EventInfo{ID: "evt_1", Type: "email.opened", OccurredAt: time.Now()}, Profile: p, Data: d}
		out, err := tmpl.Render(scope)
		if err != nil {
			if !fail || !errors.Is(err, ErrMissingValue) {
				t.Fatalf("Render(%q) with profile %q, data %q: %v", raw, profile, data, err)
			}
			return
		}
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("Render(%q) with profile %q, data %q = %q: not valid UTF-8 JSON", raw, profile, data, out)
		}
		// Rendering is deterministic: the same scope gives the same body.
		again, err := tmpl.Render(scope)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Render(%q) twice: %q then %q (%v)", raw, out, again, err)
		}
	})
}
