package jsoncheck_test

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/liaison/liaison/internal/jsoncheck"
	"github.com/liaison/liaison/internal/jsoncheck/jsonbtest"
)

// seeds are the fuzz targets' starting points, and documents
// TestWhatCheckTakesTheDatabaseStores stores.
var seeds = []string{
	`{"id":"s1","type":"x","profile":{"s":"\ud800"},"data":{}}`,
	`{"s":"\udc00x"}`,
	`{"\ud800":1}`,
	`{"data":{"a":["\ud800"]}}`,
	`{"s":"\ud83d\ude00"}`,
	`{"s":"\uD83D\uDE00\uD83D"}`,
	`{"s":"\ud800\\u"}`,
	`{"s":"\\ud800"}`,
	`{"s":"a\u0000b"}`,
	`{"k\u0000":1}`,
	`{"s":"\\u0000"}`,
	"{\"s\":\"\xff\xfe\"}",
	"{\"s\":\"\xed\xa0\x80\"}",
	`{"email":"a","email":"b"}`,
	`{"a":{"b":1,"b":2}}`,
	`{"a":"x","\u0061":"y"}`,
	`{"n":1e308,"m":-1.5E-308}`,
	`{"n":1e309}`,
	`{"n":[1,{"big":1e131071}]}`,
	`{"n":0e-20000}`,
	`{"n":123456789012345678901234567890.123456789}`,
	`[]`, `{}`, `null`, `"x"`, `0`, `-0.0e+0`,
	`{"a":[1,2,{"b":null,"c":true}],"d":"\"\\\/\b\f\n\r\t"}`,
}

// FuzzCheck: whatever Check's JSONB rules take, a re-statement of
// PostgreSQL's jsonb rules (jsonbtest) takes, and it is JSON without a
// duplicate key; what they refuse as not UTF-8, \u0000 or a lone
// surrogate, the re-statement refuses too. Check never panics.
func FuzzCheck(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		flaw := jsoncheck.Check(doc, jsoncheck.JSONB)
		pg := jsonbtest.Storable(doc)
		if flaw == nil {
			if pg != nil {
				t.Fatalf("Check took %q; PostgreSQL would refuse it: %v", doc, pg)
			}
			if !json.Valid(doc) {
				t.Fatalf("Check took %q, which is not JSON", doc)
			}
			if k, dup := jsonbtest.DuplicateKey(doc); dup {
				t.Fatalf("Check took %q, which gives the key %q twice", doc, k)
			}
			return
		}
		switch flaw.Kind {
		case jsoncheck.NotUTF8, jsoncheck.NULChar, jsoncheck.Surrogate:
			if pg == nil {
				t.Fatalf("Check refused %q (%v); PostgreSQL would take it", doc, flaw)
			}
		case jsoncheck.Syntax:
			if json.Valid(doc) && utf8.Valid(doc) {
				t.Fatalf("Check calls %q not JSON (%v); encoding/json reads it", doc, flaw)
			}
		case jsoncheck.Duplicate:
			if _, dup := jsonbtest.DuplicateKey(doc); !dup && json.Valid(doc) {
				t.Fatalf("Check finds a duplicate key in %q (%v); there is none", doc, flaw)
			}
		}
		if flaw.Offset < 0 || flaw.Offset > len(doc) {
			t.Fatalf("flaw %v of %q at byte %d, outside the document", flaw, doc, flaw.Offset)
		}
	})
}
