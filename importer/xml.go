package importer

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

// XML feeds are read token by token with encoding/xml: only the item being
// read is ever in memory. Elements are keyed by their local name, without
// namespace prefix. Three readers share that machinery:
//
//   - YML (Yandex Market): items are yml_catalog/shop/offers/offer. An offer's
//     attributes become fields (available as a bool), each child element a
//     field by its name, picture always a []any, and every param a value in
//     the map "params", name → "value unit" (just "value" without a unit; a
//     name that repeats gives a []any). From the catalogue's currencies and
//     categories, read before the offers as the format requires, an offer gets
//     category (the name of its categoryId), category_path ("Root > Child")
//     and currency_rate (the rate of its currencyId, as written: "1", "CBRF").
//     Gifts, promos and other sections are skipped.
//   - Google Merchant RSS 2.0 (rss/channel/item) and Atom (feed/entry): each
//     child element is a field by its local name; a g: element wins over a
//     plain one of the same name; additional_image_link is always a []any;
//     an element with children (g:shipping) is a map; Atom's <link href> gives
//     link, its summary gives description when there is none.
//   - Generic XML: the elements at ParseOptions.ItemPath. An item's
//     attributes and child elements become fields: an element with only text
//     is a string, one with attributes or children a map (its text under
//     "value"), and a name that repeats a []any.
//
// Text is trimmed of surrounding space. Feeds may declare any encoding the
// WHATWG or IANA registries name (windows-1251 is common for YML), and may
// use HTML entities such as &nbsp; without declaring them.

// maxXMLDepth bounds how deep an item's elements may nest, so a hostile feed
// cannot run the recursive reader out of stack.
const maxXMLDepth = 64

// maxCategories bounds the YML category and currency maps, the only things
// kept across items.
const maxCategories = 200_000

const atomNamespace = "http://www.w3.org/2005/Atom"

// newXMLDecoder sets up a decoder for feeds as they are found in the wild.
func newXMLDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(r)
	d.CharsetReader = charsetReader
	d.Entity = xml.HTMLEntity
	return d
}

// charsetReader decodes the encoding an XML declaration names into UTF-8.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(label)
	if err != nil {
		enc, err = ianaindex.IANA.Encoding(label)
		if err == nil && enc == nil {
			err = errors.New("no decoder for it")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("the feed declares encoding %q, which is not supported: %w", label, err)
	}
	return enc.NewDecoder().Reader(input), nil
}

// readRoot reads up to the root element's start tag, and says what is wrong
// when the input is not XML or is an HTML page.
func readRoot(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return xml.StartElement{}, errors.New("the feed is not XML: it has no root element")
		}
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("the feed is not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if strings.EqualFold(t.Name.Local, "html") {
				return xml.StartElement{}, ErrFeedIsHTML
			}
			return t, nil
		case xml.Directive:
			if isHTMLDoctype(t) {
				return xml.StartElement{}, ErrFeedIsHTML
			}
		case xml.CharData:
			if text := bytes.TrimSpace(t); len(text) > 0 {
				return xml.StartElement{}, fmt.Errorf("the feed is not XML: it starts with the text %q", xmlExcerpt(text))
			}
		}
	}
}

func isHTMLDoctype(d xml.Directive) bool {
	fields := strings.Fields(string(d))
	return len(fields) >= 2 && strings.EqualFold(fields[0], "doctype") && strings.EqualFold(fields[1], "html")
}

// formatOfRoot tells the kind of XML feed from its root element.
func formatOfRoot(root xml.Name) Format {
	switch {
	case root.Local == "yml_catalog":
		return FormatYML
	case root.Local == "rss", root.Local == "feed" && root.Space == atomNamespace:
		return FormatRSS
	}
	return FormatXML
}

// xmlExcerpt shortens text for an error message.
func xmlExcerpt(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// xmlRole is what the parser does with an element it meets outside items.
type xmlRole int

const (
	roleSkip     xmlRole = iota // not part of the catalogue: skipped whole
	roleDescend                 // on the way to items: read its children
	roleItem                    // one item
	roleCategory                // a YML category
	roleCurrency                // a YML currency
)

type ymlCategory struct {
	name   string
	parent string
}

type xmlParser struct {
	d     *xml.Decoder
	guard *recordGuard
	kind  Format // FormatYML, FormatRSS or FormatXML
	atom  bool   // an RSS-kind feed in Atom form
	root  string
	roles map[string]xmlRole // element paths, "a/b/c" from the root
	path  []string           // local names of the open elements, root first
	n     int64              // items read

	itemPath string // as the import names it, for messages

	// YML only: small tables that offers refer to.
	categories    map[string]ymlCategory
	categoryPaths map[string]string
	currencies    map[string]string
}

var _ Parser = (*xmlParser)(nil)

func newXMLParser(br *bufio.Reader, f Format, opts ParseOptions) (*xmlParser, error) {
	var itemPath []string
	if f == FormatXML || (f == FormatAuto && opts.ItemPath != "") {
		var err error
		if itemPath, err = splitItemPath(opts.ItemPath); err != nil {
			return nil, err
		}
	}

	guard := &recordGuard{r: br, max: maxRecordBytes}
	d := newXMLDecoder(guard)
	root, err := readRoot(d)
	if err != nil {
		return nil, err
	}
	p := &xmlParser{d: d, guard: guard, root: root.Name.Local, path: []string{root.Name.Local}, itemPath: opts.ItemPath}

	p.kind = f
	if f == FormatAuto {
		p.kind = formatOfRoot(root.Name)
	}
	switch p.kind {
	case FormatYML:
		if p.root != "yml_catalog" {
			return nil, fmt.Errorf("the root element is <%s>, but a YML feed starts with <yml_catalog>", p.root)
		}
		p.categories = map[string]ymlCategory{}
		p.categoryPaths = map[string]string{}
		p.currencies = map[string]string{}
		p.roles = map[string]xmlRole{
			"yml_catalog/shop":                     roleDescend,
			"yml_catalog/shop/currencies":          roleDescend,
			"yml_catalog/shop/currencies/currency": roleCurrency,
			"yml_catalog/shop/categories":          roleDescend,
			"yml_catalog/shop/categories/category": roleCategory,
			"yml_catalog/shop/offers":              roleDescend,
			"yml_catalog/shop/offers/offer":        roleItem,
		}
	case FormatRSS:
		switch p.root {
		case "rss":
			p.roles = map[string]xmlRole{"rss/channel": roleDescend, "rss/channel/item": roleItem}
		case "feed":
			p.atom = true
			p.roles = map[string]xmlRole{"feed/entry": roleItem}
		default:
			return nil, fmt.Errorf("the root element is <%s>, but a Google Merchant feed starts with <rss> (RSS 2.0) or <feed> (Atom)", p.root)
		}
	default:
		if itemPath == nil {
			return nil, fmt.Errorf("the XML feed's root element is <%s>, which is neither YML (<yml_catalog>) nor RSS/Atom (<rss>, <feed>): the import needs an item path, such as %q", p.root, p.root+"/item")
		}
		if itemPath[0] != p.root {
			itemPath = append([]string{p.root}, itemPath...)
		}
		p.roles = map[string]xmlRole{}
		for i := 2; i < len(itemPath); i++ {
			p.roles[strings.Join(itemPath[:i], "/")] = roleDescend
		}
		p.roles[strings.Join(itemPath, "/")] = roleItem
	}
	return p, nil
}

// splitItemPath reads "catalog/products/product" into its steps.
func splitItemPath(s string) ([]string, error) {
	trimmed := strings.Trim(strings.TrimSpace(s), "/")
	if trimmed == "" {
		return nil, errors.New("a generic XML feed needs an item path, such as \"catalog/products/product\"")
	}
	steps := strings.Split(trimmed, "/")
	for i, step := range steps {
		steps[i] = strings.TrimSpace(step)
		if steps[i] == "" {
			return nil, fmt.Errorf("item path %q has an empty step", s)
		}
	}
	return steps, nil
}

func (p *xmlParser) Next() (Item, error) {
	for {
		p.guard.mark(p.guard.read)
		tok, err := p.d.Token()
		if errors.Is(err, io.EOF) {
			return Item{}, p.end()
		}
		if err != nil {
			return Item{}, p.fatal(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			p.path = append(p.path, t.Name.Local)
			role := p.roles[strings.Join(p.path, "/")]
			if role == roleDescend {
				continue
			}
			if role == roleItem {
				p.n++
				fields, err := p.readItem(t)
				if err != nil {
					return Item{}, fmt.Errorf("reading item %d of the XML feed: %w", p.n, err)
				}
				p.path = p.path[:len(p.path)-1]
				return Item{Fields: fields, Pos: p.n, Unit: PosItem}, nil
			}
			switch role {
			case roleCategory:
				err = p.readCategory(t)
			case roleCurrency:
				err = p.readCurrency(t)
			default:
				err = p.skip()
			}
			if err != nil {
				return Item{}, p.fatal(err)
			}
			p.path = p.path[:len(p.path)-1]
		case xml.EndElement:
			// The decoder has checked that it closes the innermost element.
			p.path = p.path[:len(p.path)-1]
		}
	}
}

// end is called at the end of the input, which the decoder only reports
// after the root element was closed.
func (p *xmlParser) end() error {
	if p.kind == FormatXML && p.n == 0 {
		return fmt.Errorf("item path %q matched no element (root element is %q)", p.itemPath, p.root)
	}
	return io.EOF
}

func (p *xmlParser) fatal(err error) error {
	if p.n == 0 {
		return fmt.Errorf("reading the XML feed before its first item: %w", err)
	}
	return fmt.Errorf("reading the XML feed after item %d: %w", p.n, err)
}

func (p *xmlParser) readItem(start xml.StartElement) (map[string]any, error) {
	switch {
	case p.kind == FormatYML:
		return p.readOffer(start)
	case p.kind == FormatRSS:
		return p.readEntry(start)
	}
	v, err := p.element(start, 1, true)
	if err != nil {
		return nil, err
	}
	if fields, ok := v.(map[string]any); ok {
		return fields, nil
	}
	return map[string]any{"value": v}, nil
}

// readOffer reads a YML offer.
func (p *xmlParser) readOffer(start xml.StartElement) (map[string]any, error) {
	fields := map[string]any{}
	for _, a := range start.Attr {
		if isNamespaceDecl(a.Name) {
			continue
		}
		fields[a.Name.Local] = a.Value
		if a.Name.Local == "available" {
			if b, err := strconv.ParseBool(strings.TrimSpace(a.Value)); err == nil {
				fields["available"] = b
			}
		}
	}
	var params map[string]any
	for {
		tok, err := p.d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "param":
				value, err := p.text(t)
				if err != nil {
					return nil, err
				}
				name := strings.TrimSpace(xmlAttr(t, "name"))
				if name == "" {
					continue // a param without a name cannot be looked up
				}
				if unit := strings.TrimSpace(xmlAttr(t, "unit")); unit != "" && value != "" {
					value += " " + unit
				}
				if params == nil {
					params = map[string]any{}
					fields["params"] = params
				}
				addRepeatable(params, name, value)
			case "picture":
				url, err := p.text(t)
				if err != nil {
					return nil, err
				}
				list, _ := fields["picture"].([]any)
				fields["picture"] = append(list, url)
			default:
				v, err := p.element(t, 1, true)
				if err != nil {
					return nil, err
				}
				addRepeatable(fields, t.Name.Local, v)
			}
		case xml.EndElement:
			p.resolveOffer(fields)
			return fields, nil
		}
	}
}

// resolveOffer adds what an offer's ids refer to.
func (p *xmlParser) resolveOffer(fields map[string]any) {
	if id, ok := fields["categoryId"].(string); ok {
		if c, ok := p.categories[id]; ok {
			fields["category"] = c.name
			fields["category_path"] = p.categoryPath(id)
		}
	}
	if id, ok := fields["currencyId"].(string); ok {
		if rate, ok := p.currencies[id]; ok && rate != "" {
			fields["currency_rate"] = rate
		}
	}
}

// categoryPath names a category with its parents, "Root > Child"; it is
// worked out once per category.
func (p *xmlParser) categoryPath(id string) string {
	if path, ok := p.categoryPaths[id]; ok {
		return path
	}
	var names []string
	// The bound stops a parentId loop; real trees are a few levels deep.
	for cur := id; cur != "" && len(names) < 32; {
		c, ok := p.categories[cur]
		if !ok {
			break
		}
		names = append(names, c.name)
		cur = c.parent
	}
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	path := strings.Join(names, " > ")
	p.categoryPaths[id] = path
	return path
}

func (p *xmlParser) readCategory(start xml.StartElement) error {
	name, err := p.text(start)
	if err != nil {
		return err
	}
	if len(p.categories) >= maxCategories {
		return fmt.Errorf("the YML feed has more than %d categories", maxCategories)
	}
	p.categories[xmlAttr(start, "id")] = ymlCategory{name: name, parent: xmlAttr(start, "parentId")}
	return nil
}

func (p *xmlParser) readCurrency(start xml.StartElement) error {
	if len(p.currencies) >= maxCategories {
		return fmt.Errorf("the YML feed has more than %d currencies", maxCategories)
	}
	p.currencies[xmlAttr(start, "id")] = xmlAttr(start, "rate")
	return p.skip()
}

// readEntry reads a Google Merchant RSS item or Atom entry.
func (p *xmlParser) readEntry(start xml.StartElement) (map[string]any, error) {
	fields := map[string]any{}
	google := map[string]any{}
	for {
		tok, err := p.d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			isGoogle := isGoogleNamespace(t.Name.Space)
			if p.atom && !isGoogle && t.Name.Local == "link" {
				// Atom links carry the URL in href; rel="alternate" (or none)
				// is the item's page, others (self, enclosure) are not.
				href, rel := xmlAttr(t, "href"), xmlAttr(t, "rel")
				if err := p.skip(); err != nil {
					return nil, err
				}
				if _, taken := fields["link"]; !taken && href != "" && (rel == "" || rel == "alternate") {
					fields["link"] = href
				}
				continue
			}
			// Attributes are left out: in these feeds they only say how text
			// is written (Atom's type="html").
			v, err := p.element(t, 1, false)
			if err != nil {
				return nil, err
			}
			if isGoogle {
				addRepeatable(google, t.Name.Local, v)
			} else {
				addRepeatable(fields, t.Name.Local, v)
			}
		case xml.EndElement:
			if summary, ok := fields["summary"]; ok && p.atom {
				if _, taken := fields["description"]; !taken {
					fields["description"] = summary
				}
			}
			for k, v := range google {
				fields[k] = v
			}
			if v, ok := fields["additional_image_link"]; ok {
				if _, isList := v.([]any); !isList {
					fields["additional_image_link"] = []any{v}
				}
			}
			return fields, nil
		}
	}
}

// isGoogleNamespace recognises the g: namespace, including its old "cns"
// address and feeds that use the prefix without declaring it.
func isGoogleNamespace(space string) bool {
	return strings.Contains(space, "base.google.com") || space == "g"
}

// element reads what is left of an element after its start tag: a string
// when it holds only text (and its attributes are not wanted or absent),
// otherwise a map of its attributes and children, its text under "value".
func (p *xmlParser) element(start xml.StartElement, depth int, withAttrs bool) (any, error) {
	if depth > maxXMLDepth {
		return nil, fmt.Errorf("elements nest deeper than %d levels", maxXMLDepth)
	}
	var fields map[string]any
	if withAttrs {
		for _, a := range start.Attr {
			if isNamespaceDecl(a.Name) {
				continue
			}
			if fields == nil {
				fields = map[string]any{}
			}
			addRepeatable(fields, a.Name.Local, a.Value)
		}
	}
	var text []byte
	for {
		tok, err := p.d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			v, err := p.element(t, depth+1, withAttrs)
			if err != nil {
				return nil, err
			}
			if fields == nil {
				fields = map[string]any{}
			}
			addRepeatable(fields, t.Name.Local, v)
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			s := string(bytes.TrimSpace(text))
			if fields == nil {
				return s, nil
			}
			if _, taken := fields["value"]; !taken && s != "" {
				fields["value"] = s
			}
			return fields, nil
		}
	}
}

// text reads what is left of an element and gives all the text inside it,
// trimmed.
func (p *xmlParser) text(start xml.StartElement) (string, error) {
	var text []byte
	for depth := 1; depth > 0; {
		tok, err := p.d.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			text = append(text, t...)
		}
	}
	return string(bytes.TrimSpace(text)), nil
}

// skip reads past the rest of an element. Unlike xml.Decoder.Skip it moves
// the record guard along, so a large section that is not items (promos,
// gifts) does not count as one oversized record.
func (p *xmlParser) skip() error {
	for depth := 1; depth > 0; {
		p.guard.mark(p.guard.read)
		tok, err := p.d.Token()
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// addRepeatable sets a field, turning a repeated name into a []any of its values.
func addRepeatable(fields map[string]any, name string, v any) {
	old, ok := fields[name]
	if !ok {
		fields[name] = v
		return
	}
	if list, ok := old.([]any); ok {
		fields[name] = append(list, v)
		return
	}
	fields[name] = []any{old, v}
}

func xmlAttr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local && !isNamespaceDecl(a.Name) {
			return a.Value
		}
	}
	return ""
}

func isNamespaceDecl(n xml.Name) bool {
	return n.Space == "xmlns" || (n.Space == "" && n.Local == "xmlns")
}
