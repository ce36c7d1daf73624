package feedgen

import (
	"encoding/csv"
	"strconv"
	"strings"
)

// Each writer builds one item in g.buf and hands it to the buffered writer:
// appending to a reused slice keeps a million items within seconds.

func (g *generator) emit() error {
	_, err := g.w.Write(g.buf)
	g.buf = g.buf[:0]
	return err
}

// eachItem makes every item in turn, appending it to g.buf with add, and
// hands each to the writer as soon as it is made.
func (g *generator) eachItem(add func(b []byte, i int, p *product) []byte) error {
	for i := range g.opts.Items {
		p := g.next(i)
		g.buf = add(g.buf, i, p)
		if err := g.emit(); err != nil {
			return err
		}
	}
	return nil
}

// appendOpening appends an XML item's opening tag, <tag id="…"
// available="…">, and a line break.
func appendOpening(b []byte, tag string, p *product) []byte {
	b = append(b, '<')
	b = append(b, tag...)
	b = append(b, ` id="`...)
	b = strconv.AppendInt(b, int64(p.id), 10)
	b = append(b, `" available="`...)
	b = strconv.AppendBool(b, p.available)
	return append(b, "\">\n"...)
}

func (g *generator) writeYML() error {
	encoding := "UTF-8"
	if strings.EqualFold(g.opts.Charset, "windows-1251") {
		encoding = "windows-1251"
	}
	b := g.buf
	b = append(b, `<?xml version="1.0" encoding="`+encoding+`"?>
<!DOCTYPE yml_catalog SYSTEM "shops.dtd">
<yml_catalog date="2024-05-01 12:00">
<shop>
<name>Пример</name>
<company>ООО &quot;Пример&quot;</company>
<url>https://shop.example.com/</url>
<currencies>
<currency id="RUR" rate="1"/>
<currency id="USD" rate="CBRF"/>
</currencies>
<categories>
`...)
	for _, c := range categories {
		b = append(b, `<category id="`...)
		b = strconv.AppendInt(b, int64(c.id), 10)
		if c.parent != 0 {
			b = append(b, `" parentId="`...)
			b = strconv.AppendInt(b, int64(c.parent), 10)
		}
		b = append(b, `">`...)
		b = appendXMLText(b, c.ru)
		b = append(b, "</category>\n"...)
	}
	b = append(b, "</categories>\n<offers>\n"...)
	g.buf = b
	if err := g.emit(); err != nil {
		return err
	}

	if err := g.eachItem(func(b []byte, i int, p *product) []byte {
		b = appendOpening(b, "offer", p)
		b = appendElement(b, "url", p.url())
		b = append(b, "<price>"...)
		b = strconv.AppendInt(b, int64(p.priceRUB), 10)
		b = append(b, "</price>\n"...)
		if p.sale {
			b = append(b, "<oldprice>"...)
			b = strconv.AppendInt(b, int64((p.listRUB*12/10)/10*10+9), 10)
			b = append(b, "</oldprice>\n"...)
		}
		b = append(b, "<currencyId>RUR</currencyId>\n<categoryId>"...)
		b = strconv.AppendInt(b, int64(p.cat.id), 10)
		b = append(b, "</categoryId>\n"...)
		for k := range p.pictures {
			b = appendElement(b, "picture", p.picture(k))
		}
		b = appendElement(b, "name", p.titleRU())
		b = appendElement(b, "vendor", p.brand)
		b = appendElement(b, "vendorCode", p.mpn())
		b = append(b, "<description><![CDATA["...)
		b = append(b, p.descriptionRU()...)
		b = append(b, "]]></description>\n<barcode>"...)
		b = append(b, p.gtin[:]...)
		b = append(b, "</barcode>\n"...)
		b = appendParam(b, "Цвет", "", colors[p.color].ru)
		b = appendParam(b, "Материал", "", materials[p.material].ru)
		b = appendParam(b, "Вес", "кг", strconv.FormatFloat(p.weight, 'f', -1, 64))
		if p.cat.parent == 10 {
			b = appendParam(b, "Размер", "", p.size)
		}
		b = append(b, "</offer>\n"...)
		return b
	}); err != nil {
		return err
	}

	// Gifts and promos follow the offers in real feeds; an import skips them.
	g.buf = append(g.buf, `</offers>
<gifts>
<gift id="G1"><name>Сумка для ноутбука</name><picture>https://cdn.example.com/images/gift-1.jpg</picture></gift>
</gifts>
<promos>
<promo id="P1" type="gift with purchase"><start-date>2024-05-01</start-date><end-date>2024-05-31</end-date><purchase><required-quantity>1</required-quantity><product offer-id="`+strconv.Itoa(FirstID)+`"/></purchase><promo-gifts><promo-gift gift-id="G1"/></promo-gifts></promo>
</promos>
</shop>
</yml_catalog>
`...)
	return g.emit()
}

func appendParam(b []byte, name, unit, value string) []byte {
	b = append(b, `<param name="`...)
	b = appendXMLText(b, name)
	if unit != "" {
		b = append(b, `" unit="`...)
		b = appendXMLText(b, unit)
	}
	b = append(b, `">`...)
	b = appendXMLText(b, value)
	return append(b, "</param>\n"...)
}

func (g *generator) writeRSS() error {
	g.buf = append(g.buf, `<?xml version="1.0" encoding="UTF-8"?>
<rss xmlns:g="http://base.google.com/ns/1.0" version="2.0">
<channel>
<title>Example Store</title>
<link>https://shop.example.com</link>
<description>All products of Example Store</description>
`...)
	if err := g.emit(); err != nil {
		return err
	}
	if err := g.eachItem(func(b []byte, i int, p *product) []byte {
		b = append(b, "<item>\n<g:id>"...)
		b = strconv.AppendInt(b, int64(p.id), 10)
		b = append(b, "</g:id>\n"...)
		b = appendElement(b, "g:title", p.titleEN())
		b = appendElement(b, "g:description", p.descriptionEN())
		b = appendElement(b, "g:link", p.url())
		b = appendElement(b, "g:image_link", p.picture(0))
		for k := 1; k < p.pictures; k++ {
			b = appendElement(b, "g:additional_image_link", p.picture(k))
		}
		b = appendElement(b, "g:availability", p.availability())
		b = appendPrice(b, "g:price", p.priceUSD)
		if p.sale {
			b = appendPrice(b, "g:sale_price", p.listUSD*0.8)
		}
		b = appendElement(b, "g:brand", p.brand)
		b = append(b, "<g:gtin>"...)
		b = append(b, p.gtin[:]...)
		b = append(b, "</g:gtin>\n"...)
		b = appendElement(b, "g:mpn", p.mpn())
		b = append(b, "<g:condition>new</g:condition>\n"...)
		b = appendElement(b, "g:google_product_category", p.cat.google)
		b = appendElement(b, "g:product_type", p.productType())
		b = appendElement(b, "g:color", colors[p.color].en)
		b = append(b, "<g:shipping>\n<g:country>US</g:country>\n<g:service>Standard</g:service>\n"...)
		b = appendPrice(b, "g:price", 4.95)
		b = append(b, "</g:shipping>\n</item>\n"...)
		return b
	}); err != nil {
		return err
	}
	g.buf = append(g.buf, "</channel>\n</rss>\n"...)
	return g.emit()
}

func appendPrice(b []byte, name string, usd float64) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = strconv.AppendFloat(b, usd, 'f', 2, 64)
	b = append(b, " USD</"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

var csvColumns = []string{
	"id", "title", "description", "link", "image_link", "additional_image_link", "availability",
	"price", "sale_price", "brand", "gtin", "mpn", "condition", "product_type", "color", "size", "quantity",
}

// tsvText keeps TSV values free of quotes and line breaks, as TSV feeds are.
var tsvText = strings.NewReplacer(`"`, "", "\n", " ")

func (g *generator) writeDelimited(comma rune) error {
	w := csv.NewWriter(g.w)
	w.Comma = comma
	if err := w.Write(csvColumns); err != nil {
		return err
	}
	rec := make([]string, len(csvColumns))
	var extra []string
	for i := range g.opts.Items {
		p := g.next(i)
		extra = extra[:0]
		for k := 1; k < p.pictures; k++ {
			extra = append(extra, p.picture(k))
		}
		description := p.descriptionEN()
		if comma == '\t' {
			description = tsvText.Replace(description)
		}
		salePrice := ""
		if p.sale {
			salePrice = strconv.FormatFloat(p.listUSD*0.8, 'f', 2, 64) + " USD"
		}
		rec = append(rec[:0],
			strconv.Itoa(p.id), p.titleEN(), description, p.url(), p.picture(0), strings.Join(extra, ","),
			p.availability(), strconv.FormatFloat(p.priceUSD, 'f', 2, 64)+" USD", salePrice, p.brand,
			string(p.gtin[:]), p.mpn(), "new", p.productType(), colors[p.color].en, p.size, strconv.Itoa(p.quantity),
		)
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

func (g *generator) writeJSON(lines bool) error {
	if !lines {
		g.buf = append(g.buf, "[\n"...)
	}
	if err := g.eachItem(func(b []byte, i int, p *product) []byte {
		if !lines && i > 0 {
			b = append(b, ",\n"...)
		}
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, int64(p.id), 10)
		b = appendJSONField(b, "title", p.titleEN())
		b = appendJSONField(b, "description", p.descriptionEN())
		b = appendJSONField(b, "link", p.url())
		b = append(b, `,"images":[`...)
		for k := range p.pictures {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, p.picture(k))
		}
		b = append(b, `],"price":`...)
		b = strconv.AppendFloat(b, p.priceUSD, 'f', -1, 64)
		b = append(b, `,"currency":"USD","available":`...)
		b = strconv.AppendBool(b, p.available)
		b = append(b, `,"quantity":`...)
		b = strconv.AppendInt(b, int64(p.quantity), 10)
		b = appendJSONField(b, "brand", p.brand)
		b = appendJSONField(b, "gtin", string(p.gtin[:]))
		b = append(b, `,"category":{"id":`...)
		b = strconv.AppendInt(b, int64(p.cat.id), 10)
		b = appendJSONField(b, "name", p.cat.en)
		b = appendJSONField(b, "path", p.productType())
		b = append(b, `},"params":{"color":`...)
		b = appendJSONString(b, colors[p.color].en)
		b = appendJSONField(b, "material", materials[p.material].en)
		b = append(b, `,"weight_kg":`...)
		b = strconv.AppendFloat(b, p.weight, 'f', -1, 64)
		b = appendJSONField(b, "size", p.size)
		b = append(b, "}}"...)
		if lines {
			b = append(b, '\n')
		}
		return b
	}); err != nil {
		return err
	}
	if !lines {
		g.buf = append(g.buf, "\n]\n"...)
	}
	return g.emit()
}

func (g *generator) writeXML() error {
	g.buf = append(g.buf, `<?xml version="1.0" encoding="UTF-8"?>
<catalog generated="2024-05-01T12:00:00Z">
<products>
`...)
	if err := g.emit(); err != nil {
		return err
	}
	if err := g.eachItem(func(b []byte, i int, p *product) []byte {
		b = appendOpening(b, "product", p)
		b = appendElement(b, "name", p.titleEN())
		b = appendElement(b, "brand", p.brand)
		b = append(b, `<price currency="USD">`...)
		b = strconv.AppendFloat(b, p.priceUSD, 'f', 2, 64)
		b = append(b, "</price>\n"...)
		b = appendElement(b, "url", p.url())
		b = append(b, "<images>"...)
		for k := range p.pictures {
			b = appendElement(b, "image", p.picture(k))
		}
		b = append(b, "</images>\n"...)
		b = append(b, `<category id="`...)
		b = strconv.AppendInt(b, int64(p.cat.id), 10)
		b = append(b, `">`...)
		b = appendXMLText(b, p.cat.en)
		b = append(b, "</category>\n"...)
		b = appendElement(b, "description", p.descriptionEN())
		b = append(b, "<attributes>"...)
		b = append(b, `<attribute name="color">`...)
		b = appendXMLText(b, colors[p.color].en)
		b = append(b, `</attribute><attribute name="material">`...)
		b = appendXMLText(b, materials[p.material].en)
		b = append(b, "</attribute></attributes>\n<stock>"...)
		b = strconv.AppendInt(b, int64(p.quantity), 10)
		b = append(b, "</stock>\n</product>\n"...)
		return b
	}); err != nil {
		return err
	}
	g.buf = append(g.buf, "</products>\n</catalog>\n"...)
	return g.emit()
}

func appendElement(b []byte, name, text string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendXMLText(b, text)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

// appendXMLText escapes text for element content and attribute values,
// copying the runs between special characters whole.
func appendXMLText(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&quot;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

func appendJSONField(b []byte, name, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

// appendJSONString writes s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		default:
			b = append(b, c) // UTF-8 goes through as it is
		}
	}
	return append(b, '"')
}
