// Command feedgen writes a realistic product feed to standard output, for
// trying imports and measuring them:
//
//	go run ./cmd/feedgen -format yml -items 1000000 -charset windows-1251 > feed.xml
//	go run ./cmd/feedgen -format csv -items 1000 -changed 10 > changed.csv
//
// The same flags always give the same feed; -changed P changes the price of
// about P percent of the items, for testing re-imports. The generic xml
// format puts its items at catalog/products/product.
//
// # Files
//
//   - main.go: the flags, and the feed written by importer/feedgen.
package main
