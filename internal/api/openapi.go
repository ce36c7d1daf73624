package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/liaison/liaison/internal/secret"
)

// openapi serves an OpenAPI 3.1 description built from the routes table,
// so that it cannot drift from what is served: paths, methods, the scope
// each route needs, path parameters, and body schemas derived from the Go
// types the handlers decode and encode.
func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	s.openapiOnce.Do(func() { s.openapiDoc, _ = json.Marshal(buildOpenAPI(s.routes(), s.Version)) })
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.openapiDoc)
}

type openapiCache struct {
	openapiOnce sync.Once
	openapiDoc  []byte
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

func buildOpenAPI(routes []route, version string) map[string]any {
	paths := map[string]map[string]any{}
	schemas := map[string]any{
		"Problem": map[string]any{
			"type": "object",
			"properties": map[string]any{
				"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"},
				"status": map[string]any{"type": "integer"}, "detail": map[string]any{"type": "string"},
				"request_id": map[string]any{"type": "string"},
				"errors": map[string]any{"type": "array", "items": map[string]any{
					"type": "object", "properties": map[string]any{
						"field": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"},
					},
				}},
			},
		},
	}
	gen := schemaGen{schemas: schemas}
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(method, path),
			"responses": map[string]any{
				"default": map[string]any{
					"description": "an error",
					"content":     map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}},
				},
			},
		}
		ok := map[string]any{"description": "success"}
		if rt.Response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": gen.of(reflect.TypeOf(rt.Response))}}
		}
		op["responses"].(map[string]any)[successStatus(method, rt)] = ok
		if rt.Request != nil {
			op["requestBody"] = map[string]any{
				"required": true,
				"content":  map[string]any{"application/json": map[string]any{"schema": gen.of(reflect.TypeOf(rt.Request))}},
			}
		}
		if rt.Public {
			op["security"] = []any{}
		} else {
			op["security"] = []any{map[string]any{"bearer": []string{rt.Scope}}}
			op["x-required-scope"] = rt.Scope
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Liaison API",
			"version":     version,
			"description": "Outbound connector and webhook worker. Authenticate with an access token: Authorization: Bearer lsn_…; each operation names the scope it needs.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "An access token (lsn_…) with the operation's scope"},
			},
		},
	}
}

func successStatus(method string, rt route) string {
	switch {
	case rt.Status != 0:
		return strconv.Itoa(rt.Status)
	case method == http.MethodPost && strings.Count(rt.Pattern, "/") <= 2:
		return "201"
	case method == http.MethodDelete:
		return "204"
	}
	return "200"
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.Split(path, "/") {
		part = strings.Trim(part, "{}")
		for _, w := range strings.FieldsFunc(part, func(r rune) bool { return r == '_' || r == '.' || r == '-' }) {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

// schemaGen derives JSON Schemas from Go types through their json tags.
type schemaGen struct{ schemas map[string]any }

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

func (g schemaGen) of(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.of(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.Struct:
		name := schemaName(t)
		if name == "" {
			return g.object(t)
		}
		if _, done := g.schemas[name]; !done {
			g.schemas[name] = map[string]any{} // a placeholder stops recursion
			g.schemas[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

// schemaName names a struct's schema after its package and type, so that
// access.Input and connections.Input stay apart ("AccessInput",
// "ConnectionsInput"); the api package's own types keep their bare name, and
// list[connections.View] becomes "ConnectionsViewList". "" for an anonymous
// struct.
func schemaName(t reflect.Type) string {
	name := t.Name()
	if name == "" {
		return ""
	}
	if base, arg, ok := strings.Cut(name, "["); ok {
		// A generic type's name spells its argument with its full package
		// path: list[github.com/…/connections.View].
		arg = strings.TrimSuffix(arg, "]")
		pkg, typ := "", arg
		if i := strings.LastIndexByte(arg, '.'); i >= 0 {
			pkg, typ = arg[:i], arg[i+1:]
		}
		return qualify(pkg, typ) + exported(base)
	}
	return qualify(t.PkgPath(), name)
}

// hooksParts are the packages below hooks (hooks/send, hooks/calls): their
// types are part of what the API shows of hooks and keep hooks' name
// ("HooksAttempt", "HooksCall").
const hooksParts = "github.com/liaison/liaison/hooks/"

func qualify(pkgPath, name string) string {
	if strings.HasPrefix(pkgPath, hooksParts) {
		pkgPath = strings.TrimSuffix(hooksParts, "/")
	}
	pkg := pkgPath[strings.LastIndexByte(pkgPath, '/')+1:]
	if pkg == "" || pkg == "api" {
		return exported(name)
	}
	return exported(pkg) + exported(name)
}

func exported(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (g schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	g.fields(t, props)
	return map[string]any{"type": "object", "properties": props}
}

func (g schemaGen) fields(t reflect.Type, props map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem() // an embedded *T adds T's fields, as encoding/json does
			}
			g.fields(ft, props)
			continue
		}
		if name == "" {
			name = f.Name
		}
		schema := g.of(f.Type)
		if f.Tag.Get("openapi") == "sealed-headers" {
			schema["description"] = sealedHeadersDoc
		}
		props[name] = schema
	}
}

// sealedHeadersDoc describes the headers of connections, hooks and calls
// (an `openapi:"sealed-headers"` field), naming secret.PlainHeaders.
var sealedHeadersDoc = "Header values are secrets: sealed at rest, masked in answers (5******C) and removed from the records of attempts, " +
	"except those of " + strings.Join(secret.PlainHeaders, ", ") + ". An edit that sends a masked value back keeps the stored one; " +
	"a new value replaces it; a header left out is removed."
