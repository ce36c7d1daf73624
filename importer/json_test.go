package importer

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJSONArray(t *testing.T) {
	t.Parallel()

	feed := `[
  {"id": 12345678901234, "title": "Chair", "price": 49.9, "in_stock": true, "images": ["a.jpg", "b.jpg"],
   "attributes": {"color": "red", "size": null}},
  42,
  {"id": "B-2", "title": "Table", "ean": 9007199254740993},
  {"id": 3, "title": "Lamp"}
]
`
	items, bad := parseAll(t, feed, FormatJSON, ParseOptions{})

	require.Len(t, items, 3)
	require.Equal(t, Item{
		Fields: map[string]any{
			"id": float64(12345678901234), "title": "Chair", "price": 49.9, "in_stock": true,
			"images":     []any{"a.jpg", "b.jpg"},
			"attributes": map[string]any{"color": "red", "size": nil},
		},
		Pos: 1, Unit: PosItem,
	}, items[0])
	// Too large for a float64 to hold exactly: kept as written.
	require.Equal(t, json.Number("9007199254740993"), items[1].Fields["ean"])
	require.Equal(t, int64(4), items[2].Pos)

	require.Len(t, bad, 1)
	if got, want := bad[0].Error(), "item 2: is a number, not an object"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}

	id, _, err := Mapping{}.Apply(items[0])
	require.NoError(t, err)
	if id != "12345678901234" {
		t.Errorf("got id %q; want %q", id, "12345678901234")
	}
}

func TestJSONArrayCutShortIsFatal(t *testing.T) {
	t.Parallel()

	p, err := NewParser(strings.NewReader(`[{"id": 1}, {"id": 2, "title": "Tab`), FormatJSON, ParseOptions{})
	require.NoError(t, err)
	items, _, err := drain(p)
	require.Len(t, items, 1)
	require.ErrorContains(t, err, "reading item 2 of the JSON feed")
	require.ErrorContains(t, err, "cut short")

	p, err = NewParser(strings.NewReader(`[{"id": 1}, {"id": 2,, }]`), FormatJSON, ParseOptions{})
	require.NoError(t, err)
	_, _, err = drain(p)
	require.ErrorContains(t, err, "reading item 2 of the JSON feed (byte")
	require.ErrorContains(t, err, "invalid character ','")

	p, err = NewParser(strings.NewReader(`[{"id": 1}] [`), FormatJSON, ParseOptions{})
	require.NoError(t, err)
	_, _, err = drain(p)
	require.ErrorContains(t, err, "after the closing bracket")
}

func TestJSONMustBeAnArray(t *testing.T) {
	t.Parallel()

	_, err := NewParser(strings.NewReader(`{"products": []}`), FormatJSON, ParseOptions{})
	require.ErrorContains(t, err, "must be an array of objects")
}

func TestJSONLines(t *testing.T) {
	t.Parallel()

	feed := `{"id": 1, "title": "Chair"}` + "\n" +
		"\n" +
		`{"id": 2, "title": "Table",` + "\n" + // cut: a bad line
		`{"id": 3, "title": "Lamp", "tags": ["desk"]}` + "\r\n" +
		`[1, 2]` + "\n" +
		`{"id": 5} {"id": 6}` + "\n" +
		"   \t\n" +
		`{"id": 7, "title": "Sofa"}` // no newline at the end

	items, bad := parseAll(t, feed, FormatAuto, ParseOptions{})

	require.Len(t, items, 3)
	require.Equal(t, Item{Fields: map[string]any{"id": float64(1), "title": "Chair"}, Pos: 1, Unit: PosLine}, items[0])
	require.Equal(t, Item{Fields: map[string]any{"id": float64(3), "title": "Lamp", "tags": []any{"desk"}}, Pos: 4, Unit: PosLine}, items[1])
	require.Equal(t, int64(8), items[2].Pos)

	var got []string
	for _, e := range bad {
		got = append(got, e.Error())
	}
	require.Equal(t, []string{
		"line 3: not valid JSON: unexpected EOF",
		"line 5: is an array, not an object",
		"line 6: more than one JSON value on the line",
	}, got)
}

func TestJSONLinesTooLongLineIsABadRow(t *testing.T) {
	t.Parallel()

	// A small limit stands in for the real 16 MiB; the long line also spans
	// several reads of the buffer.
	feed := `{"id": 1}` + "\n" +
		`{"id": 2, "text": "` + strings.Repeat("x", 50_000) + `"}` + "\n" +
		`{"id": 3}` + "\n"
	p, err := newJSONLParser(bufio.NewReaderSize(strings.NewReader(feed), 16), 1000)
	require.NoError(t, err)

	items, bad, err := drain(p)
	require.NoError(t, err)
	require.Len(t, items, 2)
	require.Equal(t, int64(3), items[1].Pos)
	require.Len(t, bad, 1)
	require.Equal(t, int64(2), bad[0].Pos)
	require.Contains(t, bad[0].Reason, "longer than")
}
