package hooks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMatchType(t *testing.T) {
	t.Parallel()

	tests := []struct {
		patterns []string
		event    string
		want     bool
	}{
		{[]string{"email.opened"}, "email.opened", true},
		{[]string{"email.opened"}, "email.clicked", false},
		{[]string{"email.*"}, "email.opened", true},
		{[]string{"email.*"}, "email.link.clicked", true},
		{[]string{"email.*"}, "email", false},
		{[]string{"email.*"}, "emails.opened", false},
		{[]string{"email.link.*"}, "email.link.clicked", true},
		{[]string{"email.link.*"}, "email.opened", false},
		{[]string{"*"}, "anything.at_all", true},
		{[]string{"form.submitted", "email.*"}, "email.bounced", true},
		{[]string{"form.submitted", "email.*"}, "profile.updated", false},
		{nil, "email.opened", false},
		{[]string{"email*"}, "email.opened", false},
		{[]string{"email.*.clicked"}, "email.link.clicked", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, MatchType(tt.patterns, tt.event), "%v vs %q", tt.patterns, tt.event)
	}
}

func TestValidEventType(t *testing.T) {
	t.Parallel()

	for _, s := range []string{"email.opened", "email.link.clicked", "form.submitted_v2", "a.b", "liaison.endpoint.disabled"} {
		require.True(t, ValidEventType(s), s)
	}
	for _, s := range []string{"", "email", "Email.opened", "email.", ".email", "email..opened", "email.2fa",
		"email.*", "email-opened.x", "1email.opened", "email.opened ", "email._x", "é.x",
		"a." + strings.Repeat("b", 99)} {
		require.False(t, ValidEventType(s), s)
	}
	require.True(t, ValidEventType("a."+strings.Repeat("b", 98)), "100 bytes is the limit")

	for _, s := range []string{"*", "email.*", "email.link.*", "email.opened"} {
		require.True(t, ValidEventPattern(s), s)
	}
	for _, s := range []string{"", "email", "*.opened", "email.*.x", "email*", ".*", "email.**"} {
		require.False(t, ValidEventPattern(s), s)
	}
}

func decodeFilter(t *testing.T, s string) *Filter {
	t.Helper()
	var f Filter
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&f))
	return &f
}

func TestFilterMatch(t *testing.T) {
	t.Parallel()
	scope := testScope(t)
	scope.Profile["country"] = "DE"
	scope.Profile["zip"] = "8001"

	tests := []struct {
		name, filter string
		want         bool
	}{
		{"empty", `{}`, true},
		{"equals string", `{"all":[{"field":"profile.country","op":"equals","value":"DE"}]}`, true},
		{"equals other string", `{"all":[{"field":"profile.country","op":"equals","value":"FR"}]}`, false},
		{"equals is case sensitive", `{"all":[{"field":"profile.country","op":"equals","value":"de"}]}`, false},
		{"equals number", `{"all":[{"field":"profile.age","op":"equals","value":42}]}`, true},
		{"equals number written 42.0", `{"all":[{"field":"profile.age","op":"equals","value":42.0}]}`, true},
		{"equals number written 4.2e1", `{"all":[{"field":"profile.age","op":"equals","value":4.2e1}]}`, true},
		{"equals fraction", `{"all":[{"field":"profile.score","op":"equals","value":3.250}]}`, true},
		{"string 8001 is not number 8001", `{"all":[{"field":"profile.zip","op":"equals","value":8001}]}`, false},
		{"number 42 is not string 42", `{"all":[{"field":"profile.age","op":"equals","value":"42"}]}`, false},
		{"big number exact", `{"all":[{"field":"profile.big","op":"equals","value":12345678901234567890}]}`, true},
		{"big number off by one", `{"all":[{"field":"profile.big","op":"equals","value":12345678901234567891}]}`, false},
		{"bool", `{"all":[{"field":"profile.vip","op":"equals","value":true}]}`, true},
		{"event type", `{"all":[{"field":"event.type","op":"equals","value":"form.submitted"}]}`, true},
		{"data path", `{"all":[{"field":"data.items.1.sku","op":"equals","value":"Y2"}]}`, true},
		{"not_equals", `{"all":[{"field":"profile.country","op":"not_equals","value":"FR"}]}`, true},
		{"not_equals missing field", `{"all":[{"field":"profile.phone","op":"not_equals","value":"1"}]}`, true},
		{"equals missing field", `{"all":[{"field":"profile.phone","op":"equals","value":"1"}]}`, false},
		{"exists", `{"all":[{"field":"profile.email","op":"exists"}]}`, true},
		{"exists missing", `{"all":[{"field":"profile.phone","op":"exists"}]}`, false},
		{"null does not exist", `{"all":[{"field":"profile.nickname","op":"exists"}]}`, false},
		{"not_exists null", `{"all":[{"field":"profile.nickname","op":"not_exists"}]}`, true},
		{"not_exists present", `{"all":[{"field":"profile.email","op":"not_exists"}]}`, false},
		{"in strings", `{"all":[{"field":"profile.country","op":"in","value":["AT","DE","CH"]}]}`, true},
		{"in numbers", `{"all":[{"field":"data.items.0.qty","op":"in","value":[1,2]}]}`, true},
		{"in no match", `{"all":[{"field":"profile.country","op":"in","value":["AT","CH"]}]}`, false},
		{"in missing", `{"all":[{"field":"profile.phone","op":"in","value":["1"]}]}`, false},
		{"all needs every one", `{"all":[
			{"field":"profile.country","op":"equals","value":"DE"},
			{"field":"profile.vip","op":"equals","value":false}]}`, false},
		{"any needs one", `{"any":[
			{"field":"profile.country","op":"equals","value":"FR"},
			{"field":"profile.vip","op":"equals","value":true}]}`, true},
		{"any with none", `{"any":[
			{"field":"profile.country","op":"equals","value":"FR"},
			{"field":"profile.vip","op":"equals","value":false}]}`, false},
		{"all and any", `{"all":[{"field":"event.type","op":"equals","value":"form.submitted"}],
			"any":[{"field":"profile.country","op":"in","value":["DE"]}]}`, true},
		{"object never equals", `{"all":[{"field":"profile.address","op":"equals","value":"x"}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := decodeFilter(t, tt.filter)
			require.NoError(t, f.Validate())
			require.Equal(t, tt.want, f.Match(scope))
		})
	}

	var nilFilter *Filter
	require.True(t, nilFilter.Match(scope))
	require.NoError(t, nilFilter.Validate())
}

func TestFilterGoValues(t *testing.T) {
	t.Parallel()

	// A filter built in Go, or decoded without UseNumber, still compares numbers by value.
	scope := Scope{Profile: map[string]any{"n": json.Number("5"), "f": json.Number("5.1"), "s": "b"}}
	for _, c := range []Condition{
		{Field: "profile.n", Op: OpEquals, Value: 5},
		{Field: "profile.n", Op: OpEquals, Value: 5.0},
		{Field: "profile.n", Op: OpEquals, Value: uint8(5)},
		{Field: "profile.f", Op: OpEquals, Value: 5.1},
		{Field: "profile.f", Op: OpEquals, Value: float32(5.1)},
		{Field: "profile.n", Op: OpIn, Value: []int{4, 5}},
		{Field: "profile.s", Op: OpIn, Value: []string{"a", "b"}},
	} {
		f := &Filter{All: []Condition{c}}
		require.NoError(t, f.Validate(), "%+v", c)
		require.True(t, f.Match(scope), "%+v", c)
	}
	require.False(t, (&Filter{All: []Condition{{Field: "profile.n", Op: OpEquals, Value: 5.5}}}).Match(scope))
	require.False(t, (&Filter{All: []Condition{{Field: "profile.n", Op: "gt", Value: 1}}}).Match(scope),
		"an invalid condition never holds")
}

func TestFilterValidate(t *testing.T) {
	t.Parallel()

	f := decodeFilter(t, `{
		"all": [
			{"field": "profile.country", "op": "equals", "value": "DE"},
			{"field": "profile.age", "op": "gt", "value": 18}
		],
		"any": [
			{"field": "user.email", "op": "exists"},
			{"field": "profile.email", "op": "equals"},
			{"field": "profile.email", "op": "equals", "value": {"a": 1}},
			{"field": "profile.email", "op": "in", "value": []},
			{"field": "profile.email", "op": "in", "value": "DE"},
			{"field": "profile.email", "op": "in", "value": ["DE", ["x"]]},
			{"field": "profile.email", "op": "exists", "value": true}
		]
	}`)
	err := f.Validate()
	require.ErrorIs(t, err, ErrInvalidFilter)
	var fe *FieldError
	require.True(t, errors.As(err, &fe))
	require.Equal(t, "filter.all[1].op", fe.Field)
	require.Equal(t, strings.Join([]string{
		`filter.all[1].op: unknown operator "gt"; expected one of equals, not_equals, exists, not_exists, in`,
		`filter.any[0].field: invalid path "user.email": must start with event, profile or data`,
		`filter.any[1].value: required for equals`,
		`filter.any[2].value: must be a string, number or boolean for equals`,
		`filter.any[3].value: must not be empty for in`,
		`filter.any[4].value: must be a list for in`,
		`filter.any[5].value: element 1 must be a string, number or boolean`,
		`filter.any[6].value: not allowed for exists`,
	}, "\n"), err.Error())

	many := &Filter{All: make([]Condition, MaxFilterConditions+1)}
	for i := range many.All {
		many.All[i] = Condition{Field: "profile.x", Op: OpExists}
	}
	require.ErrorContains(t, many.Validate(), "filter: 51 conditions; at most 50")
}

func BenchmarkFilterMatch(b *testing.B) {
	scope := testScope(b)
	scope.Profile["country"] = "DE"
	f := &Filter{
		All: []Condition{
			{Field: "event.type", Op: OpEquals, Value: "form.submitted"},
			{Field: "profile.age", Op: OpEquals, Value: json.Number("42")},
		},
		Any: []Condition{
			{Field: "profile.country", Op: OpIn, Value: []any{"AT", "CH", "DE"}},
			{Field: "profile.vip", Op: OpEquals, Value: true},
		},
	}
	b.ReportAllocs()
	for b.Loop() {
		if !f.Match(scope) {
			b.Fatal("no match")
		}
	}
}
