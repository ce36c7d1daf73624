// Command feedgen writes a realistic product feed to standard output, for
// trying imports and measuring them:
//
//	go run ./importer/cmd/feedgen -format yml -items 1000000 -charset windows-1251 > feed.xml
//	go run ./importer/cmd/feedgen -format csv -items 1000 -changed 10 > changed.csv
//
// The same flags always give the same feed; -changed P changes the price of
// about P percent of the items, for testing re-imports. The generic xml
// format puts its items at catalog/products/product.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/liaison/liaison/importer/feedgen"
)

func main() {
	var opts feedgen.Options
	flag.StringVar(&opts.Format, "format", "yml", "feed format: "+strings.Join(feedgen.Formats, "|"))
	flag.IntVar(&opts.Items, "items", 1000, "number of items")
	flag.Uint64Var(&opts.Seed, "seed", 1, "random seed; the same seed gives the same feed")
	flag.StringVar(&opts.Charset, "charset", "utf-8", "utf-8 or windows-1251 (yml only)")
	flag.Float64Var(&opts.ChangedPercent, "changed", 0, "percent of items whose price differs from the feed with -changed 0")
	flag.Parse()

	if err := feedgen.Write(os.Stdout, opts); err != nil {
		fmt.Fprintln(os.Stderr, "feedgen:", err)
		os.Exit(1)
	}
}
