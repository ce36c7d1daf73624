package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMappingApply(t *testing.T) {
	t.Parallel()

	item := Item{Pos: 7, Unit: PosItem, Fields: map[string]any{
		"id":      "9012",
		"sku":     float64(12345678901234),
		"name":    "Мороженица",
		"price":   "8990",
		"g.price": "flat key with a dot",
		"params":  map[string]any{"Цвет": "белый", "size.eu": "42"},
		"picture": []any{"a.jpg", "b.jpg"},
	}}

	id, fields, err := Mapping{}.Apply(item)
	require.NoError(t, err)
	require.Equal(t, "9012", id)
	require.Equal(t, item.Fields, fields, "no field list keeps every field")

	id, fields, err = Mapping{ExternalID: "sku", Fields: map[string]string{
		"name":           "title",
		"params.Цвет":    "color",
		"params.size.eu": "size",
		"picture.1":      "second_image",
		"g.price":        "raw",
		"missing":        "gone",
		"picture.9":      "also_gone",
	}}.Apply(item)
	require.NoError(t, err)
	if id != "12345678901234" {
		t.Errorf("got id %q; want %q", id, "12345678901234")
	}
	require.Equal(t, map[string]any{
		"title": "Мороженица", "color": "белый", "size": "42", "second_image": "b.jpg", "raw": "flat key with a dot",
	}, fields)
}

func TestMappingExternalIDs(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		value any
		want  string
	}{
		{"  A-1 ", "A-1"},
		{float64(42), "42"},
		{float64(12345678901234), "12345678901234"},
		{1.5, "1.5"},
		{json.Number("9007199254740993"), "9007199254740993"},
	} {
		id, _, err := Mapping{}.Apply(Item{Fields: map[string]any{"id": tt.value}})
		require.NoError(t, err)
		if id != tt.want {
			t.Errorf("id %#v: got %q; want %q", tt.value, id, tt.want)
		}
	}

	for _, tt := range []struct {
		fields map[string]any
		reason string
	}{
		{map[string]any{"title": "no id"}, "missing external id"},
		{map[string]any{"id": ""}, "missing external id"},
		{map[string]any{"id": "   "}, "missing external id"},
		{map[string]any{"id": nil}, "missing external id"},
		{map[string]any{"id": []any{"1", "2"}}, "external id is a list, not a single value"},
		{map[string]any{"id": true}, "external id is true or false, not a text or number"},
	} {
		_, _, err := Mapping{}.Apply(Item{Fields: tt.fields, Pos: 12, Unit: PosLine})
		var rowErr *RowError
		require.True(t, errors.As(err, &rowErr), "%v", tt.fields)
		require.Equal(t, &RowError{Pos: 12, Unit: PosLine, Field: "id", Reason: tt.reason}, rowErr)
	}

	_, _, err := Mapping{ExternalID: "offer.code"}.Apply(Item{Fields: map[string]any{"id": "1"}, Pos: 3, Unit: PosItem})
	if got, want := err.Error(), "item 3: field offer.code: missing external id"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestMappingValidate(t *testing.T) {
	t.Parallel()

	require.NoError(t, Mapping{}.Validate())
	require.NoError(t, Mapping{ExternalID: "params.sku", Fields: map[string]string{"name": "title", "price": "price"}}.Validate())

	err := Mapping{ExternalID: "a..b", Fields: map[string]string{
		"name":  "title",
		"title": "title",
		"":      "x",
		"price": " ",
	}}.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`external id: "a..b" has an empty step between dots`,
		`fields "name" and "title" both map to "title"`,
		`field "": the source name is empty`,
		`field "price": the output name is empty`,
	} {
		require.ErrorContains(t, err, want)
	}
}

func TestContentHash(t *testing.T) {
	t.Parallel()

	a := map[string]any{"title": "Chair <oak>", "price": 49.9, "tags": []any{"a", "b"}, "params": map[string]any{"x": "1", "y": "2"}}
	// The same fields, built in another order, as the next run would.
	b := map[string]any{"params": map[string]any{"y": "2", "x": "1"}, "tags": []any{"a", "b"}, "price": 49.9, "title": "Chair <oak>"}
	require.Len(t, ContentHash(a), 32)
	require.True(t, bytes.Equal(ContentHash(a), ContentHash(b)), "the same fields hash the same")

	for name, changed := range map[string]map[string]any{
		"a value":     {"title": "Chair <oak>", "price": 59.9, "tags": []any{"a", "b"}, "params": map[string]any{"x": "1", "y": "2"}},
		"list order":  {"title": "Chair <oak>", "price": 49.9, "tags": []any{"b", "a"}, "params": map[string]any{"x": "1", "y": "2"}},
		"nested":      {"title": "Chair <oak>", "price": 49.9, "tags": []any{"a", "b"}, "params": map[string]any{"x": "1", "y": "3"}},
		"a new field": {"title": "Chair <oak>", "price": 49.9, "tags": []any{"a", "b"}, "params": map[string]any{"x": "1", "y": "2"}, "new": ""},
		"a type":      {"title": "Chair <oak>", "price": "49.9", "tags": []any{"a", "b"}, "params": map[string]any{"x": "1", "y": "2"}},
	} {
		require.False(t, bytes.Equal(ContentHash(a), ContentHash(changed)), name)
	}
}

// Found by FuzzParseJSON: an id of "\u0000" (JSON, JSON Lines or CSV) was taken as a key, and
// PostgreSQL refuses a NUL in text, failing the whole batch of items it was in.
func TestMappingRefusesExternalIDWithNUL(t *testing.T) {
	t.Parallel()

	for _, id := range []any{"\x00", "a\x00b"} {
		_, _, err := Mapping{}.Apply(Item{Pos: 3, Unit: PosLine, Fields: map[string]any{"id": id, "name": "x"}})
		var rowErr *RowError
		require.ErrorAs(t, err, &rowErr)
		require.Equal(t, `line 3: field id: external id holds a NUL character (\u0000), which cannot be a key`, rowErr.Error())
	}
	_, _, err := Mapping{ExternalID: "sku"}.Apply(Item{Pos: 4, Unit: PosItem, Fields: map[string]any{"sku": "\xff"}})
	require.EqualError(t, err, "item 4: field sku: external id is not UTF-8 text")
}
