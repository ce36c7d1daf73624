// Package feedgen writes realistic product feeds of any size, for tests,
// benchmarks and trying imports by hand: YML (Yandex Market), Google
// Merchant RSS 2.0, CSV, TSV, a JSON array, JSON Lines and a generic XML
// catalogue (items at XMLItemPath).
//
// A feed streams out as it is made, in constant memory, and is the same for
// the same options. Every item has the field "id" (an attribute, a g:id, a
// column or a JSON number), so the default mapping finds it.
//
// Each item is drawn from its own random source, seeded by the seed and the
// item's index, so a feed written with ChangedPercent differs from the one
// without only in the prices of the items picked: a re-import of it must
// report exactly those as updated.
//
// # Files
//
//   - feedgen.go: Formats, Options and Write.
//   - data.go: the catalogue items are drawn from: a category tree with a
//     noun and a typical price per leaf, brands, colours and materials.
//   - write.go: one writer per format, each item built in a buffer.
//   - endless.go: EndlessCSV, a handler serving a feed that never ends
//     (for time-limit tests).
package feedgen
