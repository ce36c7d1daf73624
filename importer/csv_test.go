package importer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCSVWithSemicolonsQuotesNewlinesAndBOM(t *testing.T) {
	t.Parallel()

	// As a spreadsheet exports it in a locale with decimal commas: BOM,
	// semicolons, CRLF, quoted fields holding the delimiter, doubled quotes
	// and a line break, a short row, and empty lines at the end.
	feed := "\ufeffid;name;description;price\r\n" +
		"1;Chair;\"Comfortable; wooden\nwith a \"\"soft\"\" seat\";49,90\r\n" +
		"2;Table;Plain;99\r\n" +
		"3;Broken;row\r\n" +
		"4;Lamp;\"\";15\r\n" +
		"\r\n\r\n"

	items, bad := parseAll(t, feed, FormatCSV, ParseOptions{})

	require.Len(t, items, 3)
	require.Equal(t, map[string]any{
		"id": "1", "name": "Chair", "description": "Comfortable; wooden\nwith a \"soft\" seat", "price": "49,90",
	}, items[0].Fields)
	require.Equal(t, Item{Fields: map[string]any{"id": "2", "name": "Table", "description": "Plain", "price": "99"}, Pos: 4, Unit: PosLine}, items[1])
	require.Equal(t, map[string]any{"id": "4", "name": "Lamp", "description": "", "price": "15"}, items[2].Fields)
	if items[0].Pos != 2 || items[2].Pos != 6 {
		t.Errorf("got lines %d and %d; want 2 and 6", items[0].Pos, items[2].Pos)
	}

	require.Len(t, bad, 1)
	if got, want := bad[0].Error(), "line 5: has 3 fields; the header has 4"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestCSVGoesOnAfterBadQuotes(t *testing.T) {
	t.Parallel()

	feed := "id,title,price\n" +
		"1,Chair,10\n" +
		"2,Bad\"quote,20\n" + // a bare quote in an unquoted field
		"3,\"Bad\"quote\",30\n" + // a stray quote in a quoted field
		"4,Table,40\n"

	items, bad := parseAll(t, feed, FormatAuto, ParseOptions{})

	var ids []any
	for _, it := range items {
		ids = append(ids, it.Fields["id"])
	}
	require.Equal(t, []any{"1", "4"}, ids)
	require.Len(t, bad, 2)
	require.Equal(t, int64(3), bad[0].Pos)
	require.Contains(t, bad[0].Error(), `line 3: bare "`)
	require.Equal(t, int64(4), bad[1].Pos)
	require.Equal(t, int64(5), items[1].Pos)
}

func TestCSVDetectsTheDelimiterFromTheHeader(t *testing.T) {
	t.Parallel()

	for name, feed := range map[string]string{
		"comma":                        "id,title,price\n1,\"Chair; oak\",10\n",
		"semicolon":                    "id;title;price\n1;\"Chair, oak\";10\n",
		"tab":                          "id\ttitle\tprice\n1\tChair, oak\t10\n",
		"quoted header with semicolon": "\"id\",\"title; name\",\"price\"\n1,\"Chair, oak\",10\n",
	} {
		items, bad := parseAll(t, feed, FormatCSV, ParseOptions{})
		require.Empty(t, bad, name)
		require.Len(t, items, 1, name)
		require.Equal(t, "1", items[0].Fields["id"], name)
		require.Equal(t, "10", items[0].Fields["price"], name)
	}
}

func TestTSV(t *testing.T) {
	t.Parallel()

	// Google Merchant's TSV layout: names in the header, one product a line,
	// a repeated attribute as a repeated column.
	feed := "id\ttitle\tprice\tavailability\tadditional_image_link\tadditional_image_link\n" +
		"TV_123456\tLG 22LB4510 - 22\" LED TV\t159.00 USD\tin_stock\thttp://images.example.com/1.png\thttp://images.example.com/2.png\n" +
		"TV_123457\tLG 32LB5610\t249.00 USD\tout_of_stock\t\t\n"

	items, bad := parseAll(t, feed, FormatTSV, ParseOptions{})

	require.Empty(t, bad)
	require.Len(t, items, 2)
	require.Equal(t, map[string]any{
		"id": "TV_123456", "title": `LG 22LB4510 - 22" LED TV`, "price": "159.00 USD", "availability": "in_stock",
		"additional_image_link": []any{"http://images.example.com/1.png", "http://images.example.com/2.png"},
	}, items[0].Fields)
	require.Equal(t, []any{}, items[1].Fields["additional_image_link"])
}

func TestCSVUnclosedQuoteDoesNotBufferTheFeed(t *testing.T) {
	t.Parallel()

	feed := "id,title\n1,Chair\n2,\"never closed\n" + strings.Repeat("more text\n", (maxRecordBytes/10)+1000)
	p, err := NewParser(strings.NewReader(feed), FormatCSV, ParseOptions{})
	require.NoError(t, err)
	items, _, err := drain(p)
	require.ErrorIs(t, err, errRecordTooLong)
	require.ErrorContains(t, err, "after line 2")
	require.Len(t, items, 1)
}

// Found by FuzzParseCSV: a CSV feed in windows-1251 gave items whose strings were not UTF-8,
// which PostgreSQL refuses as a key and JSON turns into U+FFFD.
func TestCSVValueNotUTF8IsABadRow(t *testing.T) {
	t.Parallel()

	feed := "id,name\n1,\xcf\xf0\xe8\xe2\xe5\xf2\n2,Привет\n3,\xff\n"
	items, bad := parseAll(t, feed, FormatCSV, ParseOptions{})

	require.Len(t, items, 1)
	require.Equal(t, map[string]any{"id": "2", "name": "Привет"}, items[0].Fields)
	require.Len(t, bad, 2)
	for i, line := range []string{"line 2", "line 4"} {
		if got, want := bad[i].Error(), line+": field name: "+notUTF8; got != want {
			t.Errorf("got %q; want %q", got, want)
		}
	}
}

// Found by FuzzParseCSV: a header row that is not UTF-8 named the fields with bytes that
// cannot be stored.
func TestCSVHeaderNotUTF8(t *testing.T) {
	t.Parallel()

	_, err := NewParser(strings.NewReader("id\t\xc8\xec\xff\n1\tx\n"), FormatTSV, ParseOptions{})
	require.EqualError(t, err, "the TSV header row: column 2 "+notUTF8)
}
