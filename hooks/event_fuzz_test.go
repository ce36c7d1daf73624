package hooks

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/jsoncheck"
	"github.com/liaison/liaison/internal/jsoncheck/jsonbtest"
)

// FuzzEventCheck validates fuzzed events as intake does (one event of a
// batch, its fields prefixed). What it takes is what the store can hold:
// an id and a type by their rules, a time within the retention and an hour
// ahead, profile and data JSON objects that PostgreSQL's jsonb takes, with
// no key given twice. What it refuses names only the event's own fields.
// It never panics.
func FuzzEventCheck(f *testing.F) {
	for _, s := range []struct {
		id, typ string
		offset  int64 // seconds from now; 0 leaves occurred_at out
		profile string
		data    string
	}{
		{"evt_1", "email.opened", 0, `{"email":"a@example.com"}`, `{"n":1}`},
		{"", "form.sent", -60, ``, `null`},
		{"x y", "Email.Opened", 7200, `[]`, `"s"`},
		{"a:b.c-d_e", "order.paid", -31 * 24 * 3600, `{"s":"\ud800"}`, `{"a":1,"a":2}`},
		{strings.Repeat("i", 129), "a..b", 3599, `{"k":"\u0000"}`, `{"n":1e400}`},
		{"ok", "x", -1, "{\"s\":\"\xff\"}", `{"deep":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`},
		{"ok", "x", 1, `{`, `{"a":{"b":[{"c":null}]}} `},
	} {
		f.Add(s.id, s.typ, s.offset, []byte(s.profile), []byte(s.data))
	}
	const retention = 720 * time.Hour
	s := &Intake{opts: Options{Retention: retention}}
	f.Fuzz(func(t *testing.T, id, typ string, offset int64, profile, data []byte) {
		now := time.Now()
		in := EventInput{ID: id, Type: typ, Profile: profile, Data: data}
		if offset != 0 {
			at := now.Add(time.Duration(max(min(offset, 1<<32), -1<<32)) * time.Second)
			in.OccurredAt = &at
		}
		const prefix = "events[3]."
		var errs invalid.Error
		p := s.check(in, now, &errs, prefix)
		if p == nil {
			if len(errs.Fields) == 0 {
				t.Fatalf("refused %+v without saying why", in)
			}
			for _, e := range errs.Fields {
				name, ok := strings.CutPrefix(e.Field, prefix)
				if !ok || !strings.Contains(" id type occurred_at profile data ", " "+name+" ") || e.Message == "" {
					t.Fatalf("refused %+v naming %q: %q", in, e.Field, e.Message)
				}
			}
			return
		}
		if len(errs.Fields) != 0 {
			t.Fatalf("took %+v, yet said %v", in, errs.Fields)
		}
		if !validEventID.MatchString(p.ID) || !ValidEventType(p.Type) {
			t.Fatalf("took id %q, type %q", p.ID, p.Type)
		}
		if p.OccurredAt.Before(now.Add(-retention)) || p.OccurredAt.After(now.Add(maxFutureSkew)) {
			t.Fatalf("took occurred_at %s, outside the window of %s", p.OccurredAt, now)
		}
		for name, doc := range map[string][]byte{"profile": p.Profile, "data": p.Data} {
			if err := jsonbtest.Storable(doc); err != nil {
				t.Fatalf("took %s %q, which jsonb refuses: %v", name, doc, err)
			}
			if k, dup := jsonbtest.DuplicateKey(doc); dup {
				t.Fatalf("took %s %q, which gives %q twice", name, doc, k)
			}
			var m map[string]any
			if err := json.Unmarshal(doc, &m); err != nil || m == nil {
				t.Fatalf("took %s %q, which is not a JSON object: %v", name, doc, err)
			}
			if flaw := jsoncheck.Check(doc, jsoncheck.JSONB); flaw != nil {
				t.Fatalf("took %s %q: %v", name, doc, flaw)
			}
		}
	})
}
