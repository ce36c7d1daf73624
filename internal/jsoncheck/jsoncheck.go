package jsoncheck

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Rules are the checks Find makes beyond reading the text as JSON (which
// it always does: text that is not JSON is a Syntax flaw).
type Rules uint8

const (
	// Duplicates refuses an object that gives one key twice: readers
	// disagree on which counts (encoding/json and jsonb keep the last,
	// others the first), so what is checked may not be what is used.
	Duplicates Rules = 1 << iota
	// UTF8 refuses bytes that are not UTF-8: PostgreSQL's text and jsonb
	// refuse them, and encoding/json would quietly make them U+FFFD.
	UTF8
	// Surrogates refuses a \uXXXX escape of a UTF-16 surrogate that is not
	// half of a pair: it names no character, jsonb refuses it, and
	// encoding/json reads it as U+FFFD.
	Surrogates
	// NUL refuses \u0000, which PostgreSQL's text and jsonb cannot hold.
	NUL
	// Numbers refuses a number that jsonb would refuse or store blown up:
	// an exponent beyond ±MaxExponent, more than MaxScale digits after the
	// decimal point or more than MaxWeight before it, once the exponent is
	// applied.
	Numbers

	// Text is for JSON kept as text and sent as written (a hook's body
	// template, a call's body): \u0000 and any number may be written out.
	Text = Duplicates | UTF8 | Surrogates
	// JSONB is for JSON stored in a jsonb column: what PostgreSQL takes and
	// stores as written, and SQLite alike.
	JSONB = Text | NUL | Numbers
)

// Limits of Numbers. PostgreSQL's numeric holds at most 16383 digits after
// the decimal point and 131072 before it; ±308 is float64's range, as
// JSON's readers take numbers, and keeps jsonb from writing out a number
// thousands of characters long.
const (
	MaxExponent = 308
	MaxScale    = 16383
	MaxWeight   = 131072
)

// Kind says what a flaw is.
type Kind uint8

// Kinds of flaw, one per rule, and Syntax for text that is not JSON.
const (
	Syntax Kind = iota + 1
	Duplicate
	NotUTF8
	Surrogate
	NULChar
	Number
)

// Step is one step of a path: a key of an object, or an index of an array
// (Key "" and Index ≥ 0).
type Step struct {
	Key   string
	Index int
}

// Path leads from the top of a document to a value.
type Path []Step

// String is the path as Liaison names fields: "tags[0].name", "" for the
// top level.
func (p Path) String() string {
	var b strings.Builder
	for _, s := range p {
		if s.Index >= 0 {
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Key)
	}
	return b.String()
}

// Flaw is the first thing in a document that its rules refuse.
type Flaw struct {
	Kind Kind
	// Path is where it is: the value that holds it, or for a key (a
	// duplicate, a key with \u0000) the member the key names.
	Path Path
	// Offset is the byte of the document where it was found.
	Offset int
	// Why says what is wrong, to follow the place: `holds the character
	// U+0000 ("\u0000"), which cannot be stored`.
	Why string
}

// Where is the place as a message names it: "at tags[0].name", or "at its
// top level".
func (f *Flaw) Where() string {
	if len(f.Path) == 0 {
		return "at its top level"
	}
	return "at " + f.Path.String()
}

func (f *Flaw) Error() string { return f.Where() + " " + f.Why }

// Options say how Find checks a document.
type Options struct {
	// Rules apply to the whole document, unless FreeForm says otherwise.
	Rules Rules
	// FreeForm, when set, is asked about every value (before it is read,
	// with its path): a value it answers true for is checked, with
	// everything inside it, by FreeFormRules instead, and FreeForm is not
	// asked about anything inside it. A request body uses it for its
	// free-form parts (an event's profile, a hook's body), which their
	// domain checks by rules of its own.
	FreeForm      func(Path) bool
	FreeFormRules Rules
}

// Check is Find with the same rules everywhere.
func Check(doc []byte, rules Rules) *Flaw {
	return Find(doc, Options{Rules: rules})
}

// maxDepth bounds nesting, as encoding/json's decoder does, so a hostile
// document costs no more than a decoder would spend on it.
const maxDepth = 10000

// Find reads doc as one JSON value (surrounding white space allowed) and
// returns its first flaw, or nil.
func Find(doc []byte, o Options) *Flaw {
	s := &scanner{doc: doc, o: o}
	s.value(o.Rules, o.FreeForm != nil)
	if s.flaw == nil {
		s.space()
		if s.pos < len(doc) {
			s.fail(Syntax, "has more after its JSON value")
		}
	}
	return s.flaw
}

type scanner struct {
	doc   []byte
	pos   int
	o     Options
	path  Path
	depth int
	flaw  *Flaw
}

func (s *scanner) fail(k Kind, why string) {
	if s.flaw == nil {
		s.flaw = &Flaw{Kind: k, Path: append(Path(nil), s.path...), Offset: s.pos, Why: why}
	}
}

func (s *scanner) syntax(what string) {
	if s.pos >= len(s.doc) {
		s.fail(Syntax, "is not JSON: the text ends too early")
		return
	}
	s.fail(Syntax, fmt.Sprintf("is not JSON: %s at byte %d", what, s.pos))
}

func (s *scanner) space() {
	for s.pos < len(s.doc) {
		switch s.doc[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// value reads one value under rules; ask says whether FreeForm is still
// to be asked.
func (s *scanner) value(rules Rules, ask bool) {
	if ask && s.o.FreeForm(s.path) {
		rules, ask = s.o.FreeFormRules, false
	}
	s.space()
	if s.pos >= len(s.doc) {
		s.syntax("")
		return
	}
	switch c := s.doc[s.pos]; {
	case c == '{':
		s.object(rules, ask)
	case c == '[':
		s.array(rules, ask)
	case c == '"':
		s.str(rules, nil)
	case c == '-' || (c >= '0' && c <= '9'):
		s.number(rules)
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if strings.HasPrefix(string(s.doc[s.pos:min(len(s.doc), s.pos+5)]), lit) {
				s.pos += len(lit)
				return
			}
		}
		s.syntax(fmt.Sprintf("unexpected %q", c))
	}
}

func (s *scanner) enter() bool {
	s.depth++
	if s.depth > maxDepth {
		s.fail(Syntax, fmt.Sprintf("is nested more than %d levels deep", maxDepth))
		return false
	}
	return true
}

func (s *scanner) object(rules Rules, ask bool) {
	if !s.enter() {
		return
	}
	defer func() { s.depth-- }()
	s.pos++ // {
	var seen map[string]bool
	s.space()
	if s.pos < len(s.doc) && s.doc[s.pos] == '}' {
		s.pos++
		return
	}
	for s.flaw == nil {
		s.space()
		if s.pos >= len(s.doc) || s.doc[s.pos] != '"' {
			s.syntax("expected a key")
			return
		}
		// The key is read twice: once leniently, to name the member, then
		// by the rules, so that a flaw in the key names the member too.
		var key strings.Builder
		keyAt := s.pos
		s.str(0, &key)
		if s.flaw != nil {
			return
		}
		s.path = append(s.path, Step{Key: key.String(), Index: -1})
		if rules != 0 {
			end := s.pos
			s.pos = keyAt
			s.str(rules, nil)
			if s.flaw != nil {
				s.flaw.Why = "is a key that " + s.flaw.Why
				return
			}
			s.pos = end
		}
		if rules&Duplicates != 0 {
			if seen == nil {
				seen = map[string]bool{}
			}
			if seen[key.String()] {
				s.pos = keyAt
				s.fail(Duplicate, "is a key given twice in its object; give each key once (readers disagree on which one counts)")
				return
			}
			seen[key.String()] = true
		}
		s.space()
		if s.pos >= len(s.doc) || s.doc[s.pos] != ':' {
			s.syntax("expected a colon after the key")
			return
		}
		s.pos++
		s.value(rules, ask)
		s.path = s.path[:len(s.path)-1]
		if s.flaw != nil || !s.more('}', "object") {
			return
		}
	}
}

// more reads what follows a member of an object or an element of an
// array: a comma, and more follow, or end, and there are no more. Anything
// else is a syntax error naming what (an object, an array).
func (s *scanner) more(end byte, what string) bool {
	s.space()
	if s.pos < len(s.doc) && s.doc[s.pos] == ',' {
		s.pos++
		return true
	}
	if s.pos < len(s.doc) && s.doc[s.pos] == end {
		s.pos++
		return false
	}
	s.syntax("expected a comma or the end of the " + what)
	return false
}

func (s *scanner) array(rules Rules, ask bool) {
	if !s.enter() {
		return
	}
	defer func() { s.depth-- }()
	s.pos++ // [
	s.space()
	if s.pos < len(s.doc) && s.doc[s.pos] == ']' {
		s.pos++
		return
	}
	for i := 0; s.flaw == nil; i++ {
		s.path = append(s.path, Step{Index: i})
		s.value(rules, ask)
		s.path = s.path[:len(s.path)-1]
		if s.flaw != nil || !s.more(']', "array") {
			return
		}
	}
}

// str reads a string; into, when set, gets its decoded text (a key, to
// compare with the others as readers compare them: a lone surrogate as
// U+FFFD, invalid UTF-8 byte by byte).
func (s *scanner) str(rules Rules, into *strings.Builder) {
	s.pos++ // "
	for s.pos < len(s.doc) {
		c := s.doc[s.pos]
		switch {
		case c == '"':
			s.pos++
			return
		case c < 0x20:
			s.syntax("a control character inside a string")
			return
		case c == '\\':
			if !s.escape(rules, into) {
				return
			}
		case c < utf8.RuneSelf:
			if into != nil {
				into.WriteByte(c)
			}
			s.pos++
		default:
			r, n := utf8.DecodeRune(s.doc[s.pos:])
			if r == utf8.RuneError && n == 1 {
				if rules&UTF8 != 0 {
					s.fail(NotUTF8, fmt.Sprintf("holds the byte 0x%02x, which is not UTF-8; the text must be UTF-8", c))
					return
				}
			}
			if into != nil {
				into.Write(s.doc[s.pos : s.pos+n])
			}
			s.pos += n
		}
	}
	s.syntax("")
}

// escape reads one escape at s.pos (a backslash) and reports whether the
// string goes on.
func (s *scanner) escape(rules Rules, into *strings.Builder) bool {
	if s.pos+1 >= len(s.doc) {
		s.pos = len(s.doc)
		s.syntax("")
		return false
	}
	e := s.doc[s.pos+1]
	if e != 'u' {
		plain, ok := map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}[e]
		if !ok {
			s.pos++
			s.syntax(fmt.Sprintf("the escape \\%c", e))
			return false
		}
		if into != nil {
			into.WriteByte(plain)
		}
		s.pos += 2
		return true
	}
	r, ok := s.hex4(s.pos + 2)
	if !ok {
		s.syntax("an escape \\u without four hex digits")
		return false
	}
	switch {
	case r == 0 && rules&NUL != 0:
		s.fail(NULChar, `holds the character U+0000 ("\u0000"), which cannot be stored`)
		return false
	case utf16.IsSurrogate(r):
		if r < 0xdc00 && s.pos+11 < len(s.doc) && s.doc[s.pos+6] == '\\' && s.doc[s.pos+7] == 'u' {
			if lo, ok := s.hex4(s.pos + 8); ok && lo >= 0xdc00 && lo <= 0xdfff {
				if into != nil {
					into.WriteRune(utf16.DecodeRune(r, lo))
				}
				s.pos += 12
				return true
			}
		}
		if rules&Surrogates != 0 {
			s.fail(Surrogate, fmt.Sprintf(`holds a lone UTF-16 surrogate ("\u%04x"), which is no character and cannot be stored`, r))
			return false
		}
		r = utf8.RuneError
	}
	if into != nil {
		into.WriteRune(r)
	}
	s.pos += 6
	return true
}

func (s *scanner) hex4(at int) (rune, bool) {
	if at+4 > len(s.doc) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s.doc[at:at+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}

// number reads a number, as JSON writes one: -?int(.frac)?([eE][+-]?exp)?.
func (s *scanner) number(rules Rules) {
	start := s.pos
	if s.doc[s.pos] == '-' {
		s.pos++
	}
	intStart := s.pos
	switch {
	case s.pos < len(s.doc) && s.doc[s.pos] == '0':
		s.pos++
	case s.pos < len(s.doc) && s.doc[s.pos] >= '1' && s.doc[s.pos] <= '9':
		s.digits()
	default:
		s.syntax("a number without digits")
		return
	}
	intDigits, fracDigits := s.pos-intStart, 0
	if s.pos < len(s.doc) && s.doc[s.pos] == '.' {
		s.pos++
		fracStart := s.pos
		if s.digits() == 0 {
			s.syntax("a number without digits after its decimal point")
			return
		}
		fracDigits = s.pos - fracStart
	}
	exp, expOK := 0, true
	if s.pos < len(s.doc) && (s.doc[s.pos] == 'e' || s.doc[s.pos] == 'E') {
		s.pos++
		expStart := s.pos
		if s.pos < len(s.doc) && (s.doc[s.pos] == '+' || s.doc[s.pos] == '-') {
			s.pos++
		}
		if s.digits() == 0 {
			s.syntax("a number without digits in its exponent")
			return
		}
		var err error
		exp, err = strconv.Atoi(string(s.doc[expStart:s.pos]))
		expOK = err == nil
	}
	if rules&Numbers == 0 {
		return
	}
	n := string(s.doc[start:s.pos])
	if len(n) > 24 {
		n = n[:24] + "…"
	}
	at := s.pos
	s.pos = start
	switch {
	case !expOK || exp > MaxExponent || exp < -MaxExponent:
		s.fail(Number, fmt.Sprintf("holds the number %s, written with an exponent beyond ±%d", n, MaxExponent))
	case fracDigits-exp > MaxScale:
		s.fail(Number, fmt.Sprintf("holds the number %s, with more than %d digits after the decimal point", n, MaxScale))
	case intDigits+exp > MaxWeight:
		s.fail(Number, fmt.Sprintf("holds the number %s, with more than %d digits before the decimal point", n, MaxWeight))
	default:
		s.pos = at
	}
}

func (s *scanner) digits() int {
	start := s.pos
	for s.pos < len(s.doc) && s.doc[s.pos] >= '0' && s.doc[s.pos] <= '9' {
		s.pos++
	}
	return s.pos - start
}
