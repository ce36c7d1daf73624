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
