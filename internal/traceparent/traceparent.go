package traceparent

import "context"

// Header is the header's name.
const Header = "traceparent"

type key struct{}

// With returns ctx carrying v when v is a valid traceparent, and ctx as it
// is otherwise.
func With(ctx context.Context, v string) context.Context {
	if !Valid(v) {
		return ctx
	}
	return context.WithValue(ctx, key{}, v)
}

// From returns the traceparent ctx carries, "" when none.
func From(ctx context.Context) string {
	v, _ := ctx.Value(key{}).(string)
	return v
}

// Valid reports whether v is a traceparent that can be passed on:
// version-traceid-parentid-flags in lower-case hex (2-32-16-2 digits), a
// version other than ff, a trace id and a parent id that are not all zero.
// Version 00 is exactly that; a later version may append "-" and more
// (the specification's forward compatibility rule).
func Valid(v string) bool {
	const size = 55 // 2+1+32+1+16+1+2
	if len(v) < size || (len(v) > size && (v[:2] == "00" || v[size] != '-')) {
		return false
	}
	version, trace, parent, flags := v[0:2], v[3:35], v[36:52], v[53:55]
	if v[2] != '-' || v[35] != '-' || v[52] != '-' || version == "ff" {
		return false
	}
	for _, f := range []string{version, trace, parent, flags} {
		if !lowerHex(f) {
			return false
		}
	}
	return !allZero(trace) && !allZero(parent)
}

func lowerHex(s string) bool {
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool {
	for i := range len(s) {
		if s[i] != '0' {
			return false
		}
	}
	return true
}
