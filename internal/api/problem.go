package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/invalid"
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
// so is a string holding U+0000 ("\u0000"), which PostgreSQL's text
// cannot store (it would fail the request with a 500) and no name, URL or
// header needs. Free-form JSON (json.RawMessage: an event's profile, a
// call's body) is the domain's to check.
func decodeJSON(r *http.Request, v any) error {
	if err := decodeJSONAsIs(r, v); err != nil {
		return err
	}
	if field := nulField(reflect.ValueOf(v), ""); field != "" {
		return invalid.New(field, `must not hold the character U+0000 ("\u0000")`)
	}
	return nil
}

// nulField is the first string field in v that holds U+0000, named as the
// request names it ("headers.X-Token", "scopes[2]"), or "".
func nulField(v reflect.Value, path string) string {
	join := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return nulField(v.Elem(), path)
		}
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return path
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-":
				continue
			case f.Anonymous && name == "":
				name = path // embedded: its fields are the outer's
			case name == "":
				name = join(f.Name)
			default:
				name = join(name)
			}
			if found := nulField(v.Field(i), name); found != "" {
				return found
			}
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return ""
		}
		for it := v.MapRange(); it.Next(); {
			if k := it.Key().String(); strings.IndexByte(k, 0) >= 0 {
				return join(k)
			}
			if found := nulField(it.Value(), join(it.Key().String())); found != "" {
				return found
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "" // json.RawMessage, []byte: free-form, checked by the domain
		}
		for i := range v.Len() {
			if found := nulField(v.Index(i), path+"["+strconv.Itoa(i)+"]"); found != "" {
				return found
			}
		}
	}
	return ""
}

// decodeJSONAsIs is decodeJSON without the check for U+0000, for bodies
// whose domain reports it per item (a batch of events, by index).
func decodeJSONAsIs(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		p := problem(http.StatusUnsupportedMediaType, "the body must be JSON (Content-Type: application/json)")
		p.Errors = []FieldError{{Field: "body", Message: "Content-Type " + ct + " is not application/json"}}
		return p
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if dec.More() {
		return badRequest("body", "the body holds more than one JSON value")
	}
	return nil
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
