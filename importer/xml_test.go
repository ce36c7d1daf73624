package importer

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"
)

// ymlFeed follows the Yandex Market YML example: currencies, a category
// tree, offers of the simple and vendor.model types with repeated pictures
// and params, HTML in CDATA, and gifts and promos after the offers.
const ymlFeed = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE yml_catalog SYSTEM "shops.dtd">
<yml_catalog date="2019-11-01 17:22">
  <shop>
    <name>BestSeller</name>
    <company>Tne Best inc.</company>
    <url>http://best.seller.ru</url>
    <currencies>
      <currency id="RUR" rate="1"/>
      <currency id="USD" rate="CBRF"/>
    </currencies>
    <categories>
      <category id="1">Бытовая техника</category>
      <category id="10" parentId="1">Мелкая техника для кухни</category>
      <category id="101" parentId="10">Мороженицы</category>
    </categories>
    <delivery-options>
      <option cost="200" days="1"/>
    </delivery-options>
    <offers>
      <offer id="9012" available="true">
        <name>Мороженица Brand 3811</name>
        <vendor>Brand</vendor>
        <vendorCode>A1234567B</vendorCode>
        <url>http://best.seller.ru/product_page.asp?pid=12345&amp;utm=yml</url>
        <price>8990</price>
        <oldprice>9990</oldprice>
        <currencyId>RUR</currencyId>
        <categoryId>101</categoryId>
        <picture>http://best.seller.ru/img/model_12345.jpg</picture>
        <picture>http://best.seller.ru/img/model_12345_2.jpg</picture>
        <delivery>true</delivery>
        <description><![CDATA[
          <h3>Мороженица Brand 3811</h3>
          <p>Это прибор, который придётся по вкусу всем любителям десертов&nbsp;и сладостей.</p>
        ]]></description>
        <sales_notes>Необходима предоплата.</sales_notes>
        <barcode>4601546021298</barcode>
        <param name="Цвет">белый</param>
        <param name="Объём" unit="л">1.5</param>
        <param name="Материал">пластик</param>
        <param name="Материал">металл</param>
        <weight>3.6</weight>
        <dimensions>20.1/20.551/22.5</dimensions>
        <age unit="year">6</age>
      </offer>
      <offer id="12346" available="false" type="vendor.model" bid="80">
        <url>http://best.seller.ru/product_page.asp?pid=12346</url>
        <price>15</price>
        <currencyId>USD</currencyId>
        <categoryId>999</categoryId>
        <picture>http://best.seller.ru/img/device12346.jpg</picture>
        <typePrefix>Принтер</typePrefix>
        <vendor>НP</vendor>
        <model>Deskjet D2663</model>
        <description>Серия принтеров для людей, которым нужен надежный &amp; простой принтер.</description>
      </offer>
    </offers>
    <gifts>
      <gift id="33">
        <name>Кружка 300 мл Brand 1234</name>
        <picture>http://best.seller.ru/promos/33.jpg</picture>
      </gift>
    </gifts>
    <promos>
      <promo id="Promo1" type="gift with purchase">
        <purchase>
          <required-quantity>1</required-quantity>
          <product offer-id="9012"/>
        </purchase>
        <promo-gifts>
          <promo-gift gift-id="33"/>
        </promo-gifts>
      </promo>
    </promos>
  </shop>
</yml_catalog>
`

func TestYML(t *testing.T) {
	t.Parallel()

	items, bad := parseAll(t, ymlFeed, FormatYML, ParseOptions{})

	require.Empty(t, bad)
	require.Len(t, items, 2, "gifts and promos are not offers")
	first := items[0].Fields
	description := first["description"].(string)
	delete(first, "description")
	require.Equal(t, map[string]any{
		"id":            "9012",
		"available":     true,
		"name":          "Мороженица Brand 3811",
		"vendor":        "Brand",
		"vendorCode":    "A1234567B",
		"url":           "http://best.seller.ru/product_page.asp?pid=12345&utm=yml",
		"price":         "8990",
		"oldprice":      "9990",
		"currencyId":    "RUR",
		"currency_rate": "1",
		"categoryId":    "101",
		"category":      "Мороженицы",
		"category_path": "Бытовая техника > Мелкая техника для кухни > Мороженицы",
		"picture":       []any{"http://best.seller.ru/img/model_12345.jpg", "http://best.seller.ru/img/model_12345_2.jpg"},
		"delivery":      "true",
		"sales_notes":   "Необходима предоплата.",
		"barcode":       "4601546021298",
		"params":        map[string]any{"Цвет": "белый", "Объём": "1.5 л", "Материал": []any{"пластик", "металл"}},
		"weight":        "3.6",
		"dimensions":    "20.1/20.551/22.5",
		"age":           map[string]any{"unit": "year", "value": "6"},
	}, first)
	require.True(t, strings.HasPrefix(description, "<h3>Мороженица Brand 3811</h3>"), "got %q", description)
	require.Contains(t, description, "десертов&nbsp;и", "CDATA is kept as written")
	require.Equal(t, int64(1), items[0].Pos)

	second := items[1].Fields
	require.Equal(t, "12346", second["id"])
	require.Equal(t, false, second["available"])
	require.Equal(t, "vendor.model", second["type"])
	require.Equal(t, "80", second["bid"])
	require.Equal(t, "CBRF", second["currency_rate"])
	require.Equal(t, []any{"http://best.seller.ru/img/device12346.jpg"}, second["picture"])
	require.Equal(t, "Серия принтеров для людей, которым нужен надежный & простой принтер.", second["description"])
	require.NotContains(t, second, "category", "category 999 does not exist")
	require.Equal(t, int64(2), items[1].Pos)

	id, fields, err := Mapping{Fields: map[string]string{"params.Цвет": "color", "picture.0": "image"}}.Apply(items[0])
	require.NoError(t, err)
	require.Equal(t, "9012", id)
	require.Equal(t, map[string]any{"color": "белый", "image": "http://best.seller.ru/img/model_12345.jpg"}, fields)
}

func TestYMLInWindows1251(t *testing.T) {
	t.Parallel()

	utf8Feed := strings.Replace(ymlFeed, `encoding="UTF-8"`, `encoding="windows-1251"`, 1)
	// "&nbsp;" and "придётся" stay: both are in windows-1251.
	feed, err := charmap.Windows1251.NewEncoder().String(utf8Feed)
	require.NoError(t, err)
	require.False(t, utf8.ValidString(feed), "the sample must really be windows-1251 bytes")
	require.True(t, bytes.Contains([]byte(feed), []byte{0xCC, 0xEE, 0xF0, 0xEE, 0xE6}), "Мороже in windows-1251")

	for _, f := range []Format{FormatYML, FormatAuto} {
		items, bad := parseAll(t, feed, f, ParseOptions{})
		require.Empty(t, bad)
		require.Len(t, items, 2)
		fields := items[0].Fields
		if got, want := fields["name"], "Мороженица Brand 3811"; got != want {
			t.Errorf("got %q; want %q", got, want)
		}
		require.Equal(t, "Бытовая техника > Мелкая техника для кухни > Мороженицы", fields["category_path"])
		require.Equal(t, map[string]any{"Цвет": "белый", "Объём": "1.5 л", "Материал": []any{"пластик", "металл"}}, fields["params"])
	}
}

func TestXMLUnknownEncodingIsFatal(t *testing.T) {
	t.Parallel()

	_, err := NewParser(strings.NewReader(`<?xml version="1.0" encoding="klingon-1"?><yml_catalog/>`), FormatAuto, ParseOptions{})
	require.ErrorContains(t, err, `encoding "klingon-1", which is not supported`)
}

// googleRSS follows Google Merchant Center's RSS 2.0 example, with a second
// item that mixes plain RSS elements in.
const googleRSS = `<?xml version="1.0"?>
<rss xmlns:g="http://base.google.com/ns/1.0" version="2.0">
  <channel>
    <title>Example - Online Store</title>
    <link>http://www.example.com</link>
    <description>This is a sample feed containing the required and recommended attributes for a variety of different products</description>
    <item>
      <g:id>TV_123456</g:id>
      <g:title>LG 22LB4510 - 22" LED TV - 1080p (FullHD)</g:title>
      <g:description>Attractively styled and boasting stunning picture quality, the LG 22LB4510 - 22&quot; LED TV - 1080p (FullHD) is an excellent television/monitor.</g:description>
      <g:link>http://www.example.com/electronics/tv/22LB4510.html</g:link>
      <g:image_link>http://images.example.com/TV_123456.png</g:image_link>
      <g:additional_image_link>http://images.example.com/TV_123456_2.png</g:additional_image_link>
      <g:condition>used</g:condition>
      <g:availability>in_stock</g:availability>
      <g:price>159.00 USD</g:price>
      <g:shipping>
        <g:country>US</g:country>
        <g:service>Standard</g:service>
        <g:price>14.95 USD</g:price>
      </g:shipping>
      <g:google_product_category>Electronics &gt; Video &gt; Televisions &gt; Flat Panel Televisions</g:google_product_category>
      <g:product_type>Electronics &gt; TVs</g:product_type>
      <g:brand>LG</g:brand>
      <g:gtin>8808992787426</g:gtin>
      <g:mpn>22LB4510/US</g:mpn>
    </item>
    <item>
      <title>Plain title</title>
      <link>http://www.example.com/plain</link>
      <description>Plain description</description>
      <g:id>DSK_0001</g:id>
      <g:title>Standing desk</g:title>
      <g:additional_image_link>http://images.example.com/desk_2.png</g:additional_image_link>
      <g:additional_image_link>http://images.example.com/desk_3.png</g:additional_image_link>
      <g:price>399.00 USD</g:price>
    </item>
  </channel>
</rss>
`

func TestGoogleMerchantRSS(t *testing.T) {
	t.Parallel()

	items, bad := parseAll(t, googleRSS, FormatRSS, ParseOptions{})

	require.Empty(t, bad)
	require.Len(t, items, 2)
	require.Equal(t, map[string]any{
		"id":                      "TV_123456",
		"title":                   `LG 22LB4510 - 22" LED TV - 1080p (FullHD)`,
		"description":             `Attractively styled and boasting stunning picture quality, the LG 22LB4510 - 22" LED TV - 1080p (FullHD) is an excellent television/monitor.`,
		"link":                    "http://www.example.com/electronics/tv/22LB4510.html",
		"image_link":              "http://images.example.com/TV_123456.png",
		"additional_image_link":   []any{"http://images.example.com/TV_123456_2.png"},
		"condition":               "used",
		"availability":            "in_stock",
		"price":                   "159.00 USD",
		"shipping":                map[string]any{"country": "US", "service": "Standard", "price": "14.95 USD"},
		"google_product_category": "Electronics > Video > Televisions > Flat Panel Televisions",
		"product_type":            "Electronics > TVs",
		"brand":                   "LG",
		"gtin":                    "8808992787426",
		"mpn":                     "22LB4510/US",
	}, items[0].Fields)

	require.Equal(t, map[string]any{
		"id":                    "DSK_0001",
		"title":                 "Standing desk", // g:title wins over title
		"link":                  "http://www.example.com/plain",
		"description":           "Plain description",
		"additional_image_link": []any{"http://images.example.com/desk_2.png", "http://images.example.com/desk_3.png"},
		"price":                 "399.00 USD",
	}, items[1].Fields)
	require.Equal(t, Item{Fields: items[1].Fields, Pos: 2, Unit: PosItem}, items[1])
}

const googleAtom = `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0">
  <title>Example - Online Store</title>
  <link rel="self" href="http://www.example.com"/>
  <updated>2011-07-11T12:00:00Z</updated>
  <author><name>Example</name></author>
  <id>tag:example.com,2011-07-11:/feed</id>
  <entry>
    <g:id>TV_123456</g:id>
    <title type="text">LG 22LB4510 - 22" LED TV</title>
    <summary type="html">Attractively styled &amp; stunning.</summary>
    <link rel="self" href="http://www.example.com/feed/TV_123456"/>
    <link href="http://www.example.com/electronics/tv/22LB4510.html"/>
    <g:image_link>http://images.example.com/TV_123456.png</g:image_link>
    <g:price>159.00 USD</g:price>
    <g:availability>in_stock</g:availability>
    <updated>2011-07-11T12:00:00Z</updated>
  </entry>
</feed>
`

func TestGoogleMerchantAtom(t *testing.T) {
	t.Parallel()

	items, bad := parseAll(t, googleAtom, FormatAuto, ParseOptions{})

	require.Empty(t, bad)
	require.Len(t, items, 1)
	require.Equal(t, map[string]any{
		"id":           "TV_123456",
		"title":        `LG 22LB4510 - 22" LED TV`,
		"summary":      "Attractively styled & stunning.",
		"description":  "Attractively styled & stunning.",
		"link":         "http://www.example.com/electronics/tv/22LB4510.html",
		"image_link":   "http://images.example.com/TV_123456.png",
		"price":        "159.00 USD",
		"availability": "in_stock",
		"updated":      "2011-07-11T12:00:00Z",
	}, items[0].Fields)
}

const genericXML = `<?xml version="1.0" encoding="UTF-8"?>
<catalog version="2">
  <info><name>Shop</name></info>
  <products>
    <product id="1" sku="A-1">
      <name>Chair</name>
      <price currency="EUR">49.90</price>
      <tags><tag>wood</tag><tag>kitchen</tag></tags>
      <image>a.jpg</image>
      <image>b.jpg</image>
      <dimensions><width>40</width><height>90</height></dimensions>
      <note/>
    </product>
    <product id="2"><name>Table</name></product>
  </products>
  <product id="x">not at the item path</product>
</catalog>
`

func TestGenericXML(t *testing.T) {
	t.Parallel()

	for _, path := range []string{"catalog/products/product", "products/product", "/catalog/products/product/"} {
		items, bad := parseAll(t, genericXML, FormatXML, ParseOptions{ItemPath: path})
		require.Empty(t, bad, path)
		require.Len(t, items, 2, path)
		require.Equal(t, map[string]any{
			"id":         "1",
			"sku":        "A-1",
			"name":       "Chair",
			"price":      map[string]any{"currency": "EUR", "value": "49.90"},
			"tags":       map[string]any{"tag": []any{"wood", "kitchen"}},
			"image":      []any{"a.jpg", "b.jpg"},
			"dimensions": map[string]any{"width": "40", "height": "90"},
			"note":       "",
		}, items[0].Fields, path)
		require.Equal(t, Item{Fields: map[string]any{"id": "2", "name": "Table"}, Pos: 2, Unit: PosItem}, items[1], path)
	}

	// Auto picks generic XML for an unknown root and uses the item path.
	items, _ := parseAll(t, genericXML, FormatAuto, ParseOptions{ItemPath: "products/product"})
	require.Len(t, items, 2)
}

func TestItemPathThatMatchesNothing(t *testing.T) {
	t.Parallel()

	p, err := NewParser(strings.NewReader(genericXML), FormatXML, ParseOptions{ItemPath: "catalog/items/item"})
	require.NoError(t, err)
	_, _, err = drain(p)
	if got, want := err.Error(), `item path "catalog/items/item" matched no element (root element is "catalog")`; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestMalformedXMLIsFatalWithItsLine(t *testing.T) {
	t.Parallel()

	feed := "<catalog>\n<product id=\"1\"><name>Chair</name></product>\n<product id=\"2\">\n<name>Table</price>\n</product>\n<product id=\"3\"/>\n</catalog>\n"
	p, err := NewParser(strings.NewReader(feed), FormatXML, ParseOptions{ItemPath: "catalog/product"})
	require.NoError(t, err)
	items, _, err := drain(p)
	require.Len(t, items, 1)
	require.ErrorContains(t, err, "reading item 2 of the XML feed")
	require.ErrorContains(t, err, "line 4")
	_, again := p.Next()
	require.Equal(t, err, again, "a fatal error sticks")

	// A feed cut short inside the root is malformed too, not a shorter feed.
	p, err = NewParser(strings.NewReader(`<rss><channel><item><g:id xmlns:g="http://base.google.com/ns/1.0">1</g:id></item><item><title>Cut`), FormatRSS, ParseOptions{})
	require.NoError(t, err)
	items, _, err = drain(p)
	require.Len(t, items, 1)
	require.ErrorContains(t, err, "unexpected EOF")
}

func TestNotXMLForAnXMLFormat(t *testing.T) {
	t.Parallel()

	for _, f := range []Format{FormatYML, FormatRSS, FormatXML} {
		_, err := NewParser(strings.NewReader("id,title\n1,Chair\n"), f, ParseOptions{ItemPath: "a/b"})
		require.ErrorContains(t, err, `the feed is not XML: it starts with the text "id,title`, string(f))
	}

	_, err := NewParser(strings.NewReader(googleRSS), FormatYML, ParseOptions{})
	require.ErrorContains(t, err, "the root element is <rss>, but a YML feed starts with <yml_catalog>")
	_, err = NewParser(strings.NewReader(ymlFeed), FormatRSS, ParseOptions{})
	require.ErrorContains(t, err, "the root element is <yml_catalog>")
}

func TestXMLNestingIsBounded(t *testing.T) {
	t.Parallel()

	deep := strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)
	feed := "<catalog><product id=\"1\">" + deep + "</product></catalog>"
	p, err := NewParser(strings.NewReader(feed), FormatXML, ParseOptions{ItemPath: "catalog/product"})
	require.NoError(t, err)
	_, _, err = drain(p)
	require.ErrorContains(t, err, "nest deeper than")
}
