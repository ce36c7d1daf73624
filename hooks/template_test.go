package hooks

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testScope is an event as intake would build it: profile and data decoded with DecodeObject.
// testOccurredAt is the sample event's time, taken from the test's clock (with a fraction, to
// show it is kept), so that no expectation here names a date.
var (
	testOccurredAt   = time.Now().UTC().Truncate(time.Second).Add(500 * time.Millisecond)
	testOccurredText = testOccurredAt.Format(time.RFC3339Nano)
)

func testScope(t testing.TB) Scope {
	t.Helper()
	profile, err := DecodeObject([]byte(`{
		"email": "ann@example.com",
		"name": "Ann \"The Hammer\" O'Neil\nline two\ttab \\ back",
		"city": "Zürich 東京 🎉",
		"age": 42,
		"score": 3.25,
		"vip": true,
		"nickname": null,
		"big": 12345678901234567890,
		"tricky": "{{profile.email}} and {{data.form_id}}",
		"html": "</script><b>&amp;</b>",
		"ctrl": "a\u0001b\u2028c",
		"address": {"street": "Main St 1", "zip": "8001"},
		"tags": ["a", "b", 3]
	}`))
	require.NoError(t, err)
	data, err := DecodeObject([]byte(`{
		"form_id": "f_1",
		"form": {"fields": ["first", {"label": "second"}], "0": "zero key"},
		"items": [{"sku": "X1", "qty": 2}, {"sku": "Y2", "qty": 1}]
	}`))
	require.NoError(t, err)
	return Scope{
		Event: EventInfo{
			ID:         "evt_123",
			Type:       "form.submitted",
			OccurredAt: testOccurredAt,
		},
		Profile: profile,
		Data:    data,
	}
}

func render(t *testing.T, tmpl string, missing MissingPolicy, scope Scope) string {
	t.Helper()
	tp, err := CompileTemplate(json.RawMessage(tmpl), missing)
	require.NoError(t, err)
	out, err := tp.Render(scope)
	require.NoError(t, err)
	require.True(t, json.Valid(out), "invalid JSON: %s", out)
	return string(out)
}

func TestRenderKeepsTypes(t *testing.T) {
	t.Parallel()
	scope := testScope(t)

	tests := []struct {
		name, tmpl, want string
	}{
		{"string", `"{{profile.email}}"`, `"ann@example.com"`},
		{"number", `{"age":"{{profile.age}}"}`, `{"age":42}`},
		{"float", `{"s":"{{ profile.score }}"}`, `{"s":3.25}`},
		{"bool", `{"vip":"{{profile.vip}}"}`, `{"vip":true}`},
		{"null", `{"n":"{{profile.nickname}}"}`, `{"n":null}`},
		{"object", `{"a":"{{profile.address}}"}`, `{"a":{"street":"Main St 1","zip":"8001"}}`},
		{"array", `{"t":"{{profile.tags}}"}`, `{"t":["a","b",3]}`},
		{"big number exact", `{"big":"{{profile.big}}"}`, `{"big":12345678901234567890}`},
		{"event fields", `{"id":"{{event.id}}","type":"{{event.type}}","at":"{{event.occurred_at}}"}`,
			`{"id":"evt_123","type":"form.submitted","at":"` + testOccurredText + `"}`},
		{"whole event", `"{{event}}"`, `{"id":"evt_123","occurred_at":"` + testOccurredText + `","type":"form.submitted"}`},
		{"array index", `["{{data.form.fields.0}}","{{data.form.fields.1.label}}","{{data.items.1.sku}}"]`, `["first","second","Y2"]`},
		{"numeric key in object", `"{{data.form.0}}"`, `"zero key"`},
		{"static values kept", `{"n":1.50,"e":1e3,"t":true,"f":false,"z":null,"s":"plain","a":[],"o":{}}`,
			`{"n":1.50,"e":1e3,"t":true,"f":false,"z":null,"s":"plain","a":[],"o":{}}`},
		{"key order kept", `{"z":1,"a":"{{profile.age}}","m":2}`, `{"z":1,"a":42,"m":2}`},
		{"nested", `{"contact":{"email":"{{profile.email}}","lines":[{"sku":"{{data.items.0.sku}}","qty":"{{data.items.0.qty}}"}]}}`,
			`{"contact":{"email":"ann@example.com","lines":[{"sku":"X1","qty":2}]}}`},
		{"whitespace dropped", "{ \"a\" : [ 1 , 2 ] }", `{"a":[1,2]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, render(t, tt.tmpl, MissingNull, scope))
		})
	}
}

func TestRenderInterpolates(t *testing.T) {
	t.Parallel()
	scope := testScope(t)

	tests := []struct {
		name, tmpl, want string
	}{
		{"text and string", `"Hi {{profile.email}}!"`, `"Hi ann@example.com!"`},
		{"number as text", `"age {{profile.age}}, vip {{profile.vip}}"`, `"age 42, vip true"`},
		{"big number as text", `"id-{{profile.big}}"`, `"id-12345678901234567890"`},
		{"null as nothing", `"[{{profile.nickname}}]"`, `"[]"`},
		{"object as compact JSON", `"addr={{profile.address}}"`, `"addr={\"street\":\"Main St 1\",\"zip\":\"8001\"}"`},
		{"two placeholders", `"{{event.type}}:{{event.id}}"`, `"form.submitted:evt_123"`},
		{"spaces outside braces", `" {{profile.age}} "`, `" 42 "`},
		{"time as text", `"at {{event.occurred_at}}"`, `"at ` + testOccurredText + `"`},
		{"static text escaped", `"a\"b {{profile.age}} \u00e9\n"`, `"a\"b 42 é\n"`},
		{"lone braces are text", `"}} {x} {{profile.age}} }"`, `"}} {x} 42 }"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, render(t, tt.tmpl, MissingNull, scope))
		})
	}
}

func TestRenderEscaping(t *testing.T) {
	t.Parallel()
	scope := testScope(t)
	profile := scope.Profile

	for _, field := range []string{"name", "city", "tricky", "html", "ctrl"} {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			out := render(t, `{"whole":"{{profile.`+field+`}}","mixed":"<{{profile.`+field+`}}>"}`, MissingFail, scope)
			var got map[string]string
			require.NoError(t, json.Unmarshal([]byte(out), &got))
			want := profile[field].(string)
			require.Equal(t, want, got["whole"], "a value comes back exactly, never expanded")
			require.Equal(t, "<"+want+">", got["mixed"])
		})
	}

	out := render(t, `"{{profile.html}}"`, MissingNull, scope)
	require.Equal(t, `"</script><b>&amp;</b>"`, out, "a body is not HTML: no \\u003c")
	out = render(t, `"{{profile.ctrl}}"`, MissingNull, scope)
	require.Equal(t, `"a\u0001b\u2028c"`, out)
}

func TestRenderInvalidUTF8(t *testing.T) {
	t.Parallel()

	scope := Scope{Profile: map[string]any{"s": "a\xffb"}}
	out := render(t, `["{{profile.s}}","x{{profile.s}}"]`, MissingNull, scope)
	require.Equal(t, `["a\ufffdb","xa\ufffdb"]`, out)
}

func TestRenderMissing(t *testing.T) {
	t.Parallel()
	scope := testScope(t)
	const tmpl = `{"contact":{"phone":"{{profile.phone}}","greeting":"Hi {{profile.first_name}}!"}}`

	require.Equal(t, `{"contact":{"phone":null,"greeting":"Hi !"}}`, render(t, tmpl, MissingNull, scope))

	tp, err := CompileTemplate(json.RawMessage(tmpl), MissingFail)
	require.NoError(t, err)
	_, err = tp.Render(scope)
	require.ErrorIs(t, err, ErrMissingValue)
	require.EqualError(t, err, "rendering body.contact.phone: missing value: profile.phone")

	tp, err = CompileTemplate(json.RawMessage(`{"g":"Hi {{profile.first_name}}!"}`), MissingFail)
	require.NoError(t, err)
	_, err = tp.Render(scope)
	require.EqualError(t, err, "rendering body.g: missing value: profile.first_name")

	// Missing includes: index out of range, walking into a scalar, no profile at all, no time.
	for _, p := range []string{"data.items.5", "data.items.0.sku.x", "profile.email.0", "data.form.fields.-1", "data.form.fields.01"} {
		tp, err := CompileTemplate(json.RawMessage(`"{{`+p+`}}"`), MissingFail)
		require.NoError(t, err)
		_, err = tp.Render(scope)
		require.ErrorIs(t, err, ErrMissingValue, p)
	}
	require.Equal(t, `[null,null,null]`, render(t, `["{{profile}}","{{data.x}}","{{event.occurred_at}}"]`, MissingNull, Scope{}))

	// An explicit null is a value, not a missing one.
	require.Equal(t, `{"n":null}`, render(t, `{"n":"{{profile.nickname}}"}`, MissingFail, scope))
}

func TestCompileRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name, tmpl, want string
	}{
		{"unclosed", `{"contact":{"name":"Hi {{profile.name"}}`, "body.contact.name: placeholder {{profile.name has no closing }}"},
		{"unknown root", `{"a":"{{user.email}}"}`, `body.a: placeholder {{user.email}}: invalid path "user.email": must start with event, profile or data`},
		{"function call", `{"a":"{{ upper profile.email }}"}`, `body.a: placeholder {{ upper profile.email }}: invalid path "upper profile.email"`},
		{"pipeline", `{"a":"{{profile.email | upper}}"}`, `invalid path "profile.email | upper"`},
		{"empty", `["x", "{{ }}"]`, `body[1]: placeholder {{ }}: invalid path ""`},
		{"triple braces", `{"a":"{{{profile.email}}}"}`, `invalid path "{profile.email"`},
		{"unknown event field", `{"a":"{{event.source}}"}`, `body.a: placeholder {{event.source}}: invalid path "event.source": event has id, type and occurred_at`},
		{"bad segment", `{"a":"{{profile..email}}"}`, `invalid path "profile..email"`},
		{"key placeholder", `{"{{profile.email}}":1}`, `body["{{profile.email}}"]: object keys are not templated`},
		{"duplicate key", `{"a":{"b":1,"b":2}}`, `body.a.b: duplicate key`},
		{"invalid JSON", `{"a":}`, `body.a: invalid JSON`},
		{"truncated JSON", `{"a":[1,2`, `body.a: unexpected end of JSON`},
		{"trailing data", `{"a":1} {"b":2}`, `body: unexpected data after the JSON value`},
		{"empty template", ``, `body: empty template`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := CompileTemplate(json.RawMessage(tt.tmpl), MissingNull)
			require.ErrorIs(t, err, ErrInvalidTemplate)
			require.ErrorContains(t, err, tt.want)
			var fe *FieldError
			require.True(t, errors.As(err, &fe))
		})
	}

	_, err := CompileTemplate(json.RawMessage(`{}`), MissingPolicy(7))
	require.ErrorIs(t, err, ErrInvalidTemplate)
}

func TestRenderScopeValueTypes(t *testing.T) {
	t.Parallel()

	scope := Scope{Profile: map[string]any{
		"i":     int64(-7),
		"u":     uint64(math.MaxUint64),
		"f":     1e21,
		"small": 1e-7,
		"when":  testOccurredAt,
		"raw":   json.RawMessage(`{ "x" : [1, 2] }`),
		"typed": map[string]string{"k": "<v>"},
	}}
	out := render(t, `["{{profile.i}}","{{profile.u}}","{{profile.f}}","{{profile.small}}","{{profile.when}}","{{profile.raw}}","{{profile.typed}}"]`, MissingNull, scope)
	require.Equal(t, `[-7,18446744073709551615,1e+21,1e-7,"`+testOccurredText+`",{"x":[1,2]},{"k":"<v>"}]`, out)

	out = render(t, `"{{profile.when}} {{profile.raw}}"`, MissingNull, scope)
	require.Equal(t, `"`+testOccurredText+` {\"x\":[1,2]}"`, out)

	for _, bad := range []any{math.NaN(), math.Inf(1), json.Number("12abc")} {
		tp, err := CompileTemplate(json.RawMessage(`{"v":"{{data.v}}"}`), MissingNull)
		require.NoError(t, err)
		_, err = tp.Render(Scope{Data: map[string]any{"v": bad}})
		require.ErrorContains(t, err, "rendering body.v:")
	}
}

func TestRenderAppendsAndIsReusable(t *testing.T) {
	t.Parallel()
	scope := testScope(t)

	tp, err := CompileTemplate(json.RawMessage(`{"e":"{{profile.email}}"}`), MissingNull)
	require.NoError(t, err)
	out, err := tp.AppendRender([]byte("prefix:"), scope)
	require.NoError(t, err)
	require.Equal(t, `prefix:{"e":"ann@example.com"}`, string(out))

	scope.Profile = map[string]any{"email": "bob@example.com"}
	out, err = tp.Render(scope)
	require.NoError(t, err)
	require.Equal(t, `{"e":"bob@example.com"}`, string(out))
}

func TestMissingPolicyText(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		in   string
		want MissingPolicy
	}{{"null", MissingNull}, {"fail", MissingFail}, {"", MissingNull}} {
		got, err := ParseMissingPolicy(tt.in)
		require.NoError(t, err)
		require.Equal(t, tt.want, got)
	}
	_, err := ParseMissingPolicy("skip")
	require.EqualError(t, err, `unknown missing policy "skip"; expected null or fail`)

	var v struct {
		Missing MissingPolicy `json:"missing"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"missing":"fail"}`), &v))
	require.Equal(t, MissingFail, v.Missing)
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.JSONEq(t, `{"missing":"fail"}`, string(b))
}

func TestDecodeObject(t *testing.T) {
	t.Parallel()

	m, err := DecodeObject([]byte(`{"n": 12345678901234567890}`))
	require.NoError(t, err)
	require.Equal(t, json.Number("12345678901234567890"), m["n"])
	m, err = DecodeObject([]byte(` null `))
	require.NoError(t, err)
	require.Nil(t, m)
	_, err = DecodeObject([]byte(`[1]`))
	require.Error(t, err)
	_, err = DecodeObject([]byte(`{} {}`))
	require.Error(t, err)
}

func BenchmarkRender(b *testing.B) {
	scope := testScope(b)
	tp, err := CompileTemplate(json.RawMessage(`{
		"email": "{{profile.email}}",
		"properties": {"name": "{{profile.name}}", "age": "{{profile.age}}", "city": "{{profile.city}}"},
		"event": "{{event.type}}", "event_id": "{{event.id}}", "at": "{{event.occurred_at}}",
		"note": "Form {{data.form_id}} sent by {{profile.email}}",
		"source": "liaison", "items": "{{data.items}}"
	}`), MissingNull)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tp.Render(scope); err != nil {
			b.Fatal(err)
		}
	}
}
