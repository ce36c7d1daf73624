package jsoncheck_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/jsoncheck"
)

func TestFindNamesThePlaceAndTheFlaw(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		doc   string
		rules jsoncheck.Rules
		kind  jsoncheck.Kind
		where string
		why   string
	}{
		{`{"s":"\ud800"}`, jsoncheck.Text, jsoncheck.Surrogate, "at s", `lone UTF-16 surrogate ("\ud800")`},
		{`{"s":"\udc00x"}`, jsoncheck.Text, jsoncheck.Surrogate, "at s", `("\udc00")`},
		{`{"a":{"\ud800":1}}`, jsoncheck.Text, jsoncheck.Surrogate, "at a.\uFFFD", "is a key that holds a lone"},
		{`{"s":"\uD800\uD800"}`, jsoncheck.Text, jsoncheck.Surrogate, "at s", "lone"},
		{`{"s":"\ud800\u0041"}`, jsoncheck.Text, jsoncheck.Surrogate, "at s", "lone"},
		{`["ok","\\ud800",{"x":["\ude00"]}]`, jsoncheck.Text, jsoncheck.Surrogate, "at [2].x[0]", "lone"},
		{`{"email":"a","email":"b"}`, jsoncheck.Text, jsoncheck.Duplicate, "at email", "given twice"},
		{`{"p":{"email":"a","em\u0061il":"b"}}`, jsoncheck.Text, jsoncheck.Duplicate, "at p.email", "given twice"},
		{"{\"s\":\"\xff\"}", jsoncheck.Text, jsoncheck.NotUTF8, "at s", "0xff"},
		{`{"s":"a\u0000b"}`, jsoncheck.JSONB, jsoncheck.NULChar, "at s", "U+0000"},
		{`{"k\u0000":1}`, jsoncheck.JSONB, jsoncheck.NULChar, "at k\x00", "is a key that holds the character U+0000"},
		{`{"n":[1,{"big":1e131071}]}`, jsoncheck.JSONB, jsoncheck.Number, "at n[1].big", "exponent beyond ±308"},
		{`{"n":0e-20000}`, jsoncheck.JSONB, jsoncheck.Number, "at n", "exponent"},
		{`{"n":0.` + strings.Repeat("0", 16383) + `1}`, jsoncheck.JSONB, jsoncheck.Number, "at n", "after the decimal point"},
		{`{"n":1.5e-16383}`, jsoncheck.JSONB, jsoncheck.Number, "at n", "exponent"},
		{`{"n":1` + strings.Repeat("0", 131072) + `}`, jsoncheck.JSONB, jsoncheck.Number, "at n", "before the decimal point"},
		{`"\ud800"`, jsoncheck.Text, jsoncheck.Surrogate, "at its top level", "lone"},
		{`{"a":1,}`, jsoncheck.Text, jsoncheck.Syntax, "at its top level", "is not JSON"},
		{`{"a":1} x`, jsoncheck.Text, jsoncheck.Syntax, "at its top level", "more after"},
		{`{"a":"\x"}`, jsoncheck.Text, jsoncheck.Syntax, "at a", `escape \x`},
		{`[01]`, 0, jsoncheck.Syntax, "at its top level", "expected a comma"},
		{strings.Repeat("[", 10001) + strings.Repeat("]", 10001), 0, jsoncheck.Syntax, "", "nested more than"},
	} {
		f := jsoncheck.Check([]byte(c.doc), c.rules)
		name := c.doc[:min(len(c.doc), 40)]
		require.NotNil(t, f, name)
		require.Equal(t, c.kind, f.Kind, "%s: %v", name, f)
		if c.where != "" {
			require.Equal(t, c.where, f.Where(), name)
		}
		require.Contains(t, f.Why, c.why, name)
	}
	for _, ok := range []struct {
		doc   string
		rules jsoncheck.Rules
	}{
		{`{"s":"\ud83d\ude00","t":"\uD83D\uDE00 \u00e9 é \\ud800 \"\/"}`, jsoncheck.JSONB},
		{`{"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]}`, jsoncheck.JSONB},
		{`{"note":"a\u0000 is fine written out"}`, jsoncheck.Text},
		{`{"max":1.5e308,"min":-2.5E-308,"z":-0.0,"i":123456789012345678901234567890}`, jsoncheck.JSONB},
		{"  [true, false, null, \"\", {}, []]\n", jsoncheck.JSONB},
		{`{"n":1e131071}`, jsoncheck.Text},
		{`{"a":1,"a":2}`, jsoncheck.UTF8},
	} {
		require.Nil(t, jsoncheck.Check([]byte(ok.doc), ok.rules), ok.doc)
	}
}

func TestFreeFormPartsGetTheirOwnRules(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"name":"n","body":{"a":"x\u0000y","a2":1e400},"events":[{"id":"e","profile":{"s":"\ud800"}}]}`)
	inBody := func(p jsoncheck.Path) bool { return len(p) == 1 && p[0].Key == "body" }
	// \u0000 and a long exponent are fine in the body (Text), refused
	// outside it (JSONB).
	f := jsoncheck.Find(doc, jsoncheck.Options{Rules: jsoncheck.JSONB, FreeForm: inBody, FreeFormRules: jsoncheck.Text})
	require.NotNil(t, f)
	require.Equal(t, "events[0].profile.s", f.Path.String())
	// With nothing checked in free-form parts, a duplicate inside one is
	// not seen; one outside still is.
	profile := func(p jsoncheck.Path) bool { return len(p) == 3 && p[2].Key == "profile" }
	require.Nil(t, jsoncheck.Find(doc, jsoncheck.Options{Rules: jsoncheck.Duplicates, FreeForm: profile}))
	dup := []byte(`{"events":[{"id":"a","profile":{"x":1,"x":2}},{"id":"b","id":"c"}]}`)
	f = jsoncheck.Find(dup, jsoncheck.Options{Rules: jsoncheck.Duplicates, FreeForm: profile})
	require.NotNil(t, f)
	require.Equal(t, "events[1].id", f.Path.String())
}

// TestWhatCheckTakesTheDatabaseStores holds Check's JSONB rules to the
// database itself (PostgreSQL's jsonb when DATABASE_URL is set, SQLite's
// text otherwise): whatever they take, an event's profile column stores,
// and what they refuse as not UTF-8, \u0000 or a lone surrogate,
// PostgreSQL refuses too. The documents are the fuzz targets' seeds and
// what fuzzing found (testdata/fuzz).
func TestWhatCheckTakesTheDatabaseStores(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	postgres := strings.HasPrefix(d.URL, "postgres")
	docs := append([]string(nil), seeds...)
	files, _ := filepath.Glob("testdata/fuzz/FuzzCheck/*")
	for _, name := range files {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		docs = append(docs, corpusValue(t, string(b)))
	}
	now := time.Now().UTC()
	for i, doc := range docs {
		f := jsoncheck.Check([]byte(doc), jsoncheck.JSONB)
		_, err := d.ExecContext(ctx, `INSERT INTO events (id, type, occurred_at, received_at, source, profile, data) VALUES ($1,'t',$2,$2,'api',$3,'{}')`,
			"e"+strconv.Itoa(i), now, doc)
		if f == nil {
			require.NoError(t, err, "Check took %q; the database did not", doc)
			continue
		}
		if postgres && (f.Kind == jsoncheck.NotUTF8 || f.Kind == jsoncheck.NULChar || f.Kind == jsoncheck.Surrogate) {
			require.Error(t, err, "Check refused %q (%v); PostgreSQL took it", doc, f)
		}
	}
}

// corpusValue reads the one string or []byte of a "go test fuzz v1" file.
func corpusValue(t *testing.T, file string) string {
	t.Helper()
	lines := strings.SplitN(strings.TrimSpace(file), "\n", 2)
	require.Len(t, lines, 2, file)
	v := strings.TrimSpace(lines[1])
	v = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(v, "[]byte("), "string("), ")")
	s, err := strconv.Unquote(v)
	require.NoError(t, err, v)
	return s
}
