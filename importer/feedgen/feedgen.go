package feedgen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// Formats lists the formats Write knows.
var Formats = []string{"yml", "rss", "csv", "tsv", "json", "jsonl", "xml"}

// XMLItemPath is the item path of the generic XML feed.
const XMLItemPath = "catalog/products/product"

// FirstID is the id of the first item; ids count up from it.
const FirstID = 100001

// Options say what feed to write.
type Options struct {
	Format string // one of Formats
	Items  int    // how many items
	Seed   uint64 // the same seed gives the same feed
	// Charset is "utf-8" (the default) or "windows-1251", which only YML
	// feeds use in practice.
	Charset string
	// ChangedPercent is the share of items (0–100) whose price differs from
	// the feed written with the same seed and 0.
	ChangedPercent float64
}

func (o Options) validate() error {
	var errs []error
	known := false
	for _, f := range Formats {
		known = known || f == o.Format
	}
	if !known {
		errs = append(errs, fmt.Errorf("unknown format %q: allowed are %s", o.Format, strings.Join(Formats, ", ")))
	}
	if o.Items < 0 {
		errs = append(errs, fmt.Errorf("items is %d: it cannot be negative", o.Items))
	}
	switch strings.ToLower(o.Charset) {
	case "", "utf-8":
	case "windows-1251":
		if o.Format != "yml" {
			errs = append(errs, fmt.Errorf("charset windows-1251 is for yml feeds only, not %s", o.Format))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown charset %q: allowed are utf-8, windows-1251", o.Charset))
	}
	if o.ChangedPercent < 0 || o.ChangedPercent > 100 {
		errs = append(errs, fmt.Errorf("changed percent is %v: it must be between 0 and 100", o.ChangedPercent))
	}
	return errors.Join(errs...)
}

// Write writes a feed to w.
func Write(w io.Writer, opts Options) error {
	opts.Format = strings.ToLower(opts.Format)
	if err := opts.validate(); err != nil {
		return err
	}
	out := w
	var encoder io.WriteCloser
	if strings.EqualFold(opts.Charset, "windows-1251") {
		encoder = transform.NewWriter(w, charmap.Windows1251.NewEncoder())
		out = encoder
	}
	g := &generator{
		opts: opts,
		w:    bufio.NewWriterSize(out, 64<<10),
		pcg:  rand.NewPCG(0, 0),
	}
	g.rng = rand.New(g.pcg)

	var err error
	switch opts.Format {
	case "yml":
		err = g.writeYML()
	case "rss":
		err = g.writeRSS()
	case "csv":
		err = g.writeDelimited(',')
	case "tsv":
		err = g.writeDelimited('\t')
	case "json":
		err = g.writeJSON(false)
	case "jsonl":
		err = g.writeJSON(true)
	case "xml":
		err = g.writeXML()
	}
	if err == nil {
		err = g.w.Flush()
	}
	if encoder != nil {
		if cerr := encoder.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("writing the %s feed: %w", opts.Format, err)
	}
	return nil
}

// product is one generated item, in both languages.
type product struct {
	id        int
	cat       *category
	brand     string
	model     string
	color     int
	material  int
	size      string
	weight    float64 // kg
	priceUSD  float64 // with cents
	priceRUB  int
	listRUB   int // the price before any change: old prices derive from it
	listUSD   float64
	sale      bool // has an old (YML) or a sale (RSS, CSV) price
	available bool
	quantity  int
	pictures  int
	gtin      [13]byte
	features  [2]int
	longText  bool // a description of two lines (CSV quoting)
}

type generator struct {
	opts Options
	w    *bufio.Writer
	pcg  *rand.PCG
	rng  *rand.Rand
	p    product
	buf  []byte // the item being written; reused
}

// next draws item i. The draws happen in the same order whatever the
// options, so that only what the options change differs between feeds.
func (g *generator) next(i int) *product {
	g.pcg.Seed(g.opts.Seed, splitmix(uint64(i)))
	r := g.rng
	changed := r.Float64()*100 < g.opts.ChangedPercent
	p := &g.p
	p.id = FirstID + i
	p.cat = &leaves[r.IntN(len(leaves))]
	p.brand = brands[r.IntN(len(brands))]
	p.model = string(rune('A'+r.IntN(26))) + string(rune('A'+r.IntN(26))) + "-" + strconv.Itoa(100+r.IntN(900))
	p.color = r.IntN(len(colors))
	p.material = r.IntN(len(materials))
	p.size = sizes[r.IntN(len(sizes))]
	p.weight = float64(1+r.IntN(150)) / 10
	p.listUSD = math.Round(p.cat.basePrice*(0.6+r.Float64()*1.2)*100) / 100
	p.listRUB = rubles(p.listUSD)
	p.priceUSD, p.priceRUB = p.listUSD, p.listRUB
	if changed {
		p.priceUSD = math.Round((p.listUSD*1.1+1)*100) / 100
		p.priceRUB = rubles(p.priceUSD)
	}
	p.sale = r.IntN(100) < 30
	p.available = r.IntN(100) < 85
	p.quantity = 0
	if p.available {
		p.quantity = 1 + r.IntN(200)
	}
	p.pictures = 1 + r.IntN(3)
	for k := range p.gtin {
		p.gtin[k] = byte('0' + r.IntN(10))
	}
	p.gtin[0] = '4'
	p.features = [2]int{r.IntN(len(featuresEN)), r.IntN(len(featuresEN))}
	p.longText = r.IntN(10) == 0
	return p
}

// rubles converts a price to a rouble price ending in 9.
func rubles(usd float64) int {
	return int(usd*90/10)*10 + 9
}

// splitmix spreads item indexes over the seed space, so that neighbouring
// items do not get neighbouring seeds.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (p *product) titleEN() string {
	return p.brand + " " + p.cat.nounEN + " " + p.model + " " + colors[p.color].en
}

func (p *product) titleRU() string {
	return p.cat.nounRU + " " + p.brand + " " + p.model + " " + colors[p.color].ru
}

func (p *product) url() string {
	return "https://shop.example.com/product/" + strconv.Itoa(p.id) + "?utm_source=feed&utm_medium=cpc"
}

func (p *product) picture(k int) string {
	return "https://cdn.example.com/images/" + strconv.Itoa(p.id) + "/" + strconv.Itoa(k+1) + ".jpg"
}

func (p *product) mpn() string {
	return strings.ToUpper(p.brand[:3]) + "-" + p.model
}

func (p *product) availability() string {
	if p.available {
		return "in_stock"
	}
	return "out_of_stock"
}

func (p *product) productType() string {
	return parentOf(p.cat).en + " > " + p.cat.en
}

func parentOf(c *category) *category {
	for i := range categories {
		if categories[i].id == c.parent {
			return &categories[i]
		}
	}
	return c
}

// descriptionEN has commas, quotes and an ampersand, as real ones do; some
// run over two lines.
func (p *product) descriptionEN() string {
	s := p.titleEN() + `, a "` + colors[p.color].en + `" ` + materials[p.material].en + " model. " +
		featuresEN[p.features[0]] + " " + featuresEN[p.features[1]]
	if p.longText {
		s += "\nIn the box: " + strings.ToLower(p.cat.nounEN) + ", manual, warranty card."
	}
	return s
}

func (p *product) descriptionRU() string {
	return "<p>" + p.titleRU() + " — " + materials[p.material].ru + ", " + colors[p.color].ru + " цвет.</p><ul><li>" +
		featuresRU[p.features[0]] + "</li><li>" + featuresRU[p.features[1]] + "</li></ul>"
}
