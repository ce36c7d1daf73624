package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/jsoncheck"
	"github.com/liaison/liaison/internal/logging"
	"github.com/liaison/liaison/jobs"
)

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
	// Checks and Failing are /readyz's members: each check's state, and
	// the names of those that fail.
	Checks  map[string]string `json:"checks,omitempty"`
	Failing []string          `json:"failing,omitempty"`
	// RetryAfter, when set, is sent as the Retry-After header (seconds).
	RetryAfter int `json:"-"`
	// Header holds extra headers for the answer (WWW-Authenticate).
	Header http.Header `json:"-"`
}

// FieldError names one bad input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p *Problem) Error() string {
	if len(p.Errors) > 0 {
		parts := make([]string, len(p.Errors))
		for i, e := range p.Errors {
			parts[i] = e.Field + ": " + e.Message
		}
		return p.Title + ": " + strings.Join(parts, "; ")
	}
	return p.Title + ": " + p.Detail
}

func problem(status int, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail}
}

// unprocessable is a 422 naming the bad fields.
func unprocessable(errs ...FieldError) *Problem {
	p := problem(http.StatusUnprocessableEntity, "the request has invalid fields")
	p.Type = "https://liaison.dev/problems/invalid-request"
	p.Errors = errs
	return p
}

// badRequest is a 400 naming one field.
func badRequest(field, msg string) *Problem {
	p := problem(http.StatusBadRequest, msg)
	p.Errors = []FieldError{{Field: field, Message: msg}}
	return p
}

func notFound(what string) *Problem {
	return problem(http.StatusNotFound, what+" not found")
}

// unavailableRetryAfter is the Retry-After of a 503 for a backend that is
// out of reach: about what a PostgreSQL restart or a Redis failover takes.
const unavailableRetryAfter = 3

// unavailable is the answer for a database or Redis that does not answer:
// the same on every route, so that a producer needs one rule (retry a 503
// after Retry-After; an event's id makes sending it again safe).
func unavailable() *Problem {
	p := problem(http.StatusServiceUnavailable, "the database or Redis is not answering for the moment; try again after Retry-After seconds (an event sent again with the same id is stored once)")
	p.Type = "https://liaison.dev/problems/unavailable"
	p.RetryAfter = unavailableRetryAfter
	return p
}

// backendDown reports whether err says that the database or Redis is out
// of reach, as the db and jobs packages classify their errors. It is the
// one place that turns such errors into 503s, whatever the route.
func backendDown(err error) bool {
	return db.Unavailable(err) || jobs.Unavailable(err)
}

// writeProblem answers with a problem. An error that says the database or
// Redis is out of reach is a 503 with Retry-After (logged, with its text);
// anything else that is not a *Problem is an internal error: logged, and
// answered without its text, which may hold details that are nobody's
// business.
func writeProblem(w http.ResponseWriter, r *http.Request, err error, logf func(msg string, args ...any)) {
	var p *Problem
	if !errors.As(err, &p) {
		if backendDown(err) {
			logf("database or redis unavailable", "error", err.Error(), "method", r.Method, "path", r.URL.Path)
			p = unavailable()
		} else {
			logf("internal error", "error", err.Error(), "method", r.Method, "path", r.URL.Path)
			p = problem(http.StatusInternalServerError, "something went wrong on our side; the request id helps us find it")
		}
	}
	p.RequestID = logging.RequestID(r.Context())
	h := w.Header()
	for k, vs := range p.Header {
		h[k] = vs
	}
	if p.RetryAfter > 0 {
		h.Set("Retry-After", fmt.Sprint(p.RetryAfter))
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeJSON reads a JSON object body into v, strictly: unknown fields,
// trailing data and over-long bodies are errors naming what is wrong, and
// so is what the JSON text itself holds that its readers would disagree on
// or the database could not store (jsoncheck), named by its place in the
// body ("profile.email", "headers.X-Token", "scopes[2]"): a key given
// twice, at any depth; bytes that are not UTF-8; a lone UTF-16 surrogate
// escape ("\ud800"); and, outside free-form JSON, U+0000 ("\u0000"),
// which PostgreSQL's text cannot store (it would fail the request with a
// 500) and no name, URL or header needs. Free-form JSON (a json.RawMessage
// field: an event's profile, a hook's or call's body) is the domain's to
// check further: an event's profile and data go into jsonb, where U+0000
// and some numbers cannot go, while a body template is text sent as
// written, where they can.
func decodeJSON(r *http.Request, v any) error {
	return decodeBody(r, v, jsoncheck.Text|jsoncheck.NUL, jsoncheck.Text)
}

// decodeJSONAsIs is decodeJSON that leaves what the body holds to the
// domain and refuses only a key given twice outside free-form JSON, for
// bodies whose domain reports bad content per item: a batch of events, by
// index, the rest taken.
func decodeJSONAsIs(r *http.Request, v any) error {
	return decodeBody(r, v, jsoncheck.Duplicates, 0)
}

// decodeOptionalJSON is decodeJSON for a route whose body may be left
// out: an empty body (or white space) leaves v as it is. A route that
// takes no fields decodes into noFields, so that a body that is not JSON,
// not an object, or names a field is refused, not ignored.
func decodeOptionalJSON(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decodeJSON(r, v)
}

// noFields is the body of an action route that takes none.
type noFields struct{}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, jsonProblem(err)
	}
	return body, nil
}

// decodeBody decodes the body into v, then checks its text: by rules,
// and by freeRules inside the json.RawMessage fields of v.
func decodeBody(r *http.Request, v any, rules, freeRules jsoncheck.Rules) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		p := problem(http.StatusUnsupportedMediaType, "the body must be JSON (Content-Type: application/json)")
		p.Errors = []FieldError{{Field: "body", Message: "Content-Type " + ct + " is not application/json"}}
		return p
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if dec.More() {
		return badRequest("body", "the body holds more than one JSON value")
	}
	t := reflect.TypeOf(v)
	flaw := jsoncheck.Find(body, jsoncheck.Options{
		Rules:         rules,
		FreeForm:      func(p jsoncheck.Path) bool { return freeForm(t, p) },
		FreeFormRules: freeRules,
	})
	if flaw == nil {
		return nil
	}
	if flaw.Kind == jsoncheck.Syntax {
		// The decoder took it; jsoncheck reads deeper than it does.
		return badRequest("body", "malformed JSON: "+flaw.Error())
	}
	field := flaw.Path.String()
	if field == "" {
		field = "body"
	}
	return invalid.New(field, "%s", flaw.Why)
}

// freeForm reports whether the value at path in a body decoded into t is
// free-form JSON: a json.RawMessage field, or inside one. It follows the
// body's path through t as encoding/json does (field names by their json
// tag, matched without regard to case; embedded structs' fields as the
// outer's); a path that leaves t's fields (into a map[string]any, say) is
// not free-form, since what it holds was decoded into Go values.
func freeForm(t reflect.Type, path jsoncheck.Path) bool {
	for _, step := range path {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t == rawType {
			return true
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := jsonField(t, step.Key)
			if !ok || step.Index >= 0 {
				return false
			}
			t = f
		case reflect.Map:
			t = t.Elem()
		case reflect.Slice, reflect.Array:
			if step.Index < 0 {
				return false
			}
			t = t.Elem()
		default:
			return false
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t == rawType
}

// jsonField is the type of the field of struct t that the JSON key
// name decodes into.
func jsonField(t reflect.Type, name string) (reflect.Type, bool) {
	var folded reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" {
			inner := f.Type
			for inner.Kind() == reflect.Pointer {
				inner = inner.Elem()
			}
			if inner.Kind() == reflect.Struct {
				if ft, ok := jsonField(inner, name); ok {
					return ft, true
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		key := cmp.Or(tag, f.Name)
		if key == name {
			return f.Type, true
		}
		if folded == nil && strings.EqualFold(key, name) {
			folded = f.Type
		}
	}
	return folded, folded != nil
}

func jsonProblem(err error) *Problem {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		p := problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxErr.Limit))
		p.Errors = []FieldError{{Field: "body", Message: fmt.Sprintf("larger than the limit of %d bytes", maxErr.Limit)}}
		return p
	case errors.As(err, &syntaxErr):
		return badRequest("body", fmt.Sprintf("malformed JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error()))
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return badRequest(field, fmt.Sprintf("must be %s, not JSON %s", jsonType(typeErr.Type.Kind().String()), typeErr.Value))
	case errors.Is(err, io.EOF):
		return badRequest("body", "the body is empty; expected a JSON object")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return badRequest(f, "is not a known field")
	}
	if strings.Contains(msg, "unexpected EOF") {
		return badRequest("body", "malformed JSON: the body ends too early")
	}
	return badRequest("body", "malformed JSON: "+msg)
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "a number"
}
