package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// The parse fuzz targets feed arbitrary bytes to one format's parser and read it to the end.
// Whatever the input, the parser must not panic, must end (an item or an error for every
// step, never more steps than the input has bytes), must keep a fatal error final, and every
// item it gives must be something the catalogue can store: a non-empty field map of the types
// Item documents, every string and key valid UTF-8, numbers finite, encodable as JSON.

// checkFeed parses feed as f and checks every item and error.
func checkFeed(t *testing.T, feed []byte, f Format, opts ParseOptions) {
	t.Helper()
	p, err := NewParser(bytes.NewReader(feed), f, opts)
	if err != nil {
		var rowErr *RowError
		if errors.As(err, &rowErr) {
			t.Fatalf("NewParser: a RowError %v for the feed as a whole", err)
		}
		return
	}
	// Every item or bad record consumes at least one byte of the feed.
	limit := len(feed) + 1
	var lastPos int64
	for step := 0; ; step++ {
		if step > limit {
			t.Fatalf("more than %d results from a feed of %d bytes: the parser does not end", limit, len(feed))
		}
		it, err := p.Next()
		var rowErr *RowError
		switch {
		case errors.Is(err, io.EOF):
			if _, again := p.Next(); !errors.Is(again, io.EOF) {
				t.Fatalf("Next after io.EOF = %v; want io.EOF again", again)
			}
			return
		case errors.As(err, &rowErr):
			if rowErr.Pos < 0 || rowErr.Reason == "" {
				t.Fatalf("bad record %#v", rowErr)
			}
			continue
		case err != nil:
			if _, again := p.Next(); again == nil || again.Error() != err.Error() {
				t.Fatalf("Next after the fatal error %q = %v; want the same error", err, again)
			}
			return
		}
		if it.Fields == nil {
			t.Fatalf("item %d has nil fields", it.Pos)
		}
		if it.Unit != PosLine && it.Unit != PosItem {
			t.Fatalf("item %d has unit %q", it.Pos, it.Unit)
		}
		if it.Pos <= lastPos {
			t.Fatalf("item at %s %d follows one at %d", it.Unit, it.Pos, lastPos)
		}
		lastPos = it.Pos
		if where, err := checkValue(it.Fields, "fields"); err != nil {
			t.Fatalf("item %s %d: %s: %v (fields %#v)", it.Unit, it.Pos, where, err, it.Fields)
		}
		if _, err := json.Marshal(it.Fields); err != nil {
			t.Fatalf("item %s %d: fields cannot be stored as JSON: %v", it.Unit, it.Pos, err)
		}
		// What the catalogue keys the item by is text a database column can hold.
		if id, _, err := (Mapping{}).Apply(it); err == nil {
			if !utf8.ValidString(id) || strings.ContainsRune(id, 0) {
				t.Fatalf("item %s %d: external id %q is not storable text", it.Unit, it.Pos, id)
			}
		} else if !errors.As(err, &rowErr) {
			t.Fatalf("item %s %d: Mapping.Apply error %v is not a RowError", it.Unit, it.Pos, err)
		}
	}
}

// checkValue walks a parsed value and says where it breaks Item's contract.
func checkValue(v any, where string) (string, error) {
	switch x := v.(type) {
	case nil, bool:
	case string:
		if !utf8.ValidString(x) {
			return where, fmt.Errorf("string %q is not valid UTF-8", x)
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return where, fmt.Errorf("number %v is not finite", x)
		}
	case json.Number:
		if !json.Valid([]byte(x)) {
			return where, fmt.Errorf("json.Number %q is not a number", string(x))
		}
	case []any:
		for i, e := range x {
			if w, err := checkValue(e, fmt.Sprintf("%s[%d]", where, i)); err != nil {
				return w, err
			}
		}
	case map[string]any:
		for k, e := range x {
			if !utf8.ValidString(k) {
				return where, fmt.Errorf("key %q is not valid UTF-8", k)
			}
			if w, err := checkValue(e, where+"."+k); err != nil {
				return w, err
			}
		}
	default:
		return where, fmt.Errorf("value of type %T", v)
	}
	return "", nil
}

func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{
		"id,name,price\n1,Chair,10.5\n2,\"Table, oak\",99\n",
		"id;name\r\n1;Стул\r\n2;\"multi\nline\"\r\n",
		"id\tname\n1\t22\" LED TV\n",
		"\xef\xbb\xbfid,name\n1,bom\n",
		"id,id,pic\n1,2,a\n",
		"id,,name\n1,ignored,x\n",
		"id,name\n1\n2,b,c\n\n   \n3,c\n",
		"id,name\n1,\"unclosed\n2,x\n",
		"id,name\n\"1\"x,bad quote\n",
		"id,name\n\x00,nul\n",
		"id,name\n1,\xcf\xf0\xe8\xe2\xe5\xf2\n", // windows-1251, not UTF-8
		"\xff\xfe,name\n1,x\n",
		",\n,\n",
		"\"id\nid\",x\n1,2\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, feed []byte, tsv bool) {
		format := FormatCSV
		if tsv {
			format = FormatTSV
		}
		checkFeed(t, feed, format, ParseOptions{})
	})
}

// fuzzFormat seeds f with seeds and fuzzes the reader of one format.
func fuzzFormat(f *testing.F, format Format, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, feed []byte) {
		checkFeed(t, feed, format, ParseOptions{})
	})
}

func FuzzParseJSON(f *testing.F) {
	fuzzFormat(f, FormatJSON,
		`[{"id":1,"name":"Chair","price":10.5},{"id":"2","tags":["a","b"],"nested":{"x":null}}]`,
		`[{"id":12345678901234567890},{"id":1e400},{"id":-0.0},{"id":9007199254740993}]`,
		`[1,"x",null,[],{"id":"ok"}]`,
		`[{"id":"\u0000"},{"id":"\ud800"},{"\udc00":"key"}]`,
		`[{"id":1},`, `[{"id":1}]]`, `[{"id":1}] {}`, `{"items":[]}`, `[]`, `[`, `[{"a":1}{"b":2}]`,
		"\xef\xbb\xbf[{\"id\":1}]", "[{\"id\":\"\xff\"}]", ` [ { "id" : 1 } ] `,
	)
}

func FuzzParseJSONLines(f *testing.F) {
	fuzzFormat(f, FormatJSONL,
		"{\"id\":1,\"name\":\"Chair\"}\n{\"id\":2}\n",
		"{\"id\":1}\r\n\r\n{\"id\":2}",
		"{\"id\":1} {\"id\":2}\n[1]\n\"x\"\nnot json\n{\"id\":3}\n",
		"{\"id\":\"\\u0000\"}\n{\"id\":\"\\ud800\"}\n{\"id\":\"\xff\"}\n",
		"{\"id\":12345678901234567890}\n{\"id\":1e999}\n",
		"{\n\"id\":1\n}\n",
		"{\"id\":1", "\n\n\n", "{}\n",
	)
}

// xmlSeeds are shapes every XML reader meets: declarations of other encodings, entities,
// CDATA, namespaces, comments, directives, deep nesting, broken markup.
var xmlSeeds = []string{
	`<?xml version="1.0" encoding="windows-1251"?><yml_catalog><shop><offers><offer id="1"><name>` + "\xd1\xf2\xf3\xeb" + `</name></offer></offers></shop></yml_catalog>`,
	`<?xml version="1.0" encoding="koi8-r"?><rss><channel><item><title>` + "\xf3\xd4\xd5\xcc" + `</title></item></channel></rss>`,
	`<?xml version="1.0" encoding="utf-16"?><a/>`,
	`<?xml version="1.0" encoding="no-such-charset"?><a/>`,
	`<?xml version="1.0" encoding="ISO-8859-1"?><catalog><item id="1">caf` + "\xe9" + `</item></catalog>`,
	`<!DOCTYPE html><html><body>login</body></html>`,
	`<a><b>&nbsp;&amp;&lt;&#x41;&#0;&#xD800;&bogus;</b></a>`,
	`<a><![CDATA[<not markup>]]><!-- c --><?pi x?></a>`,
	`<a><b><c><d><e><f><g><h><i><j><k><l><m><n><o><p>deep</p></o></n></m></l></k></j></i></h></g></f></e></d></c></b></a>`,
	`<a><b></a>`, `<a>`, `<a></b>`, `<a x="1" x="2"/>`, "<a>\x00</a>", "<a>\xff</a>", `text before <a/>`,
}

func FuzzParseYML(f *testing.F) {
	fuzzFormat(f, FormatYML, append([]string{
		`<?xml version="1.0" encoding="UTF-8"?>
<yml_catalog date="2026-01-01 00:00"><shop><name>Shop</name>
<currencies><currency id="RUR" rate="1"/><currency id="USD" rate="CBRF"/></currencies>
<categories><category id="1">Root</category><category id="2" parentId="1">Child</category><category id="3" parentId="3">Loop</category></categories>
<offers>
<offer id="10" available="true"><name>Chair</name><price>10</price><currencyId>USD</currencyId><categoryId>2</categoryId>
<picture>a.jpg</picture><picture>b.jpg</picture><param name="Цвет">red</param><param name="Size" unit="cm">40</param><param name="Size">41</param><param>no name</param></offer>
<offer id="11" available="maybe"><categoryId>3</categoryId><param name="x"><b>nested</b></param></offer>
</offers><gifts><gift id="g"/></gifts></shop></yml_catalog>`,
		`<yml_catalog xmlns:x="urn:x"><shop><offers><offer x:id="1" xmlns="urn:y"><x:name>n</x:name></offer></offers></shop></yml_catalog>`,
		`<catalog/>`,
	}, xmlSeeds...)...)
}

func FuzzParseGoogleMerchant(f *testing.F) {
	fuzzFormat(f, FormatRSS, append([]string{
		`<?xml version="1.0"?><rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><title>Shop</title>
<item><g:id>1</g:id><title>Chair</title><g:title>Chair G</g:title><g:price>10 USD</g:price>
<g:additional_image_link>a.jpg</g:additional_image_link><g:shipping><g:country>US</g:country><g:price>0 USD</g:price></g:shipping></item>
<item><g:id>2</g:id><g:additional_image_link>a</g:additional_image_link><g:additional_image_link>b</g:additional_image_link></item>
</channel></rss>`,
		`<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/cns/1.0"><entry><g:id>1</g:id><link rel="self" href="s"/><link href="https://e.com/1"/><summary type="html">&lt;b&gt;x&lt;/b&gt;</summary></entry></feed>`,
		`<rss><channel><item><g:id>undeclared prefix</g:id></item></channel></rss>`,
		`<feed><entry><id>not atom</id></entry></feed>`,
	}, xmlSeeds...)...)
}

// FuzzParseXML covers the generic reader with a fuzzed item path, and auto detection.
func FuzzParseXML(f *testing.F) {
	for _, s := range append([]string{
		`<catalog><products><product id="1" sku="a"><name lang="en">Chair</name><tag>a</tag><tag>b</tag><value>v</value>text</product></products></catalog>`,
		`<catalog><product><id>1</id></product><product><id>2</id></product></catalog>`,
	}, xmlSeeds...) {
		for _, path := range []string{"catalog/products/product", "product", "/catalog/product/", "products/ /product", "", "a/b", "a"} {
			f.Add([]byte(s), path, false)
		}
		f.Add([]byte(s), "", true)
	}
	f.Fuzz(func(t *testing.T, feed []byte, itemPath string, auto bool) {
		format := FormatXML
		if auto {
			format = FormatAuto
		}
		checkFeed(t, feed, format, ParseOptions{ItemPath: itemPath})
	})
}
