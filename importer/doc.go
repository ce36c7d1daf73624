// Package importer owns feed imports: fetching a product feed, parsing it as
// a stream, mapping its items and upserting them into the catalogue, run
// after run.
//
// # Parsing
//
// A feed can be hundreds of megabytes and millions of items, so nothing here
// ever holds a whole feed: NewParser wraps the body in a Parser whose Next
// returns one Item at a time, and only that item (plus, for YML, the small
// category and currency tables) stays in memory. One record is bounded too
// (16 MiB): a broken feed, such as an unclosed quote, fails instead of being
// buffered.
//
// Formats: CSV and TSV with a header row, a JSON array of objects, JSON
// Lines, and XML in three kinds: YML (Yandex Market), Google Merchant RSS 2.0
// or Atom, and generic XML whose items are found by an element path. With
// FormatAuto the first bytes decide, and for XML the root element. An HTML
// page where a feed was expected fails at once with ErrFeedIsHTML.
//
// Errors come in two kinds. A *RowError is one bad record (a CSV row with the
// wrong number of fields, a JSON line that does not parse): the run counts it,
// keeps a sample, and goes on. Any other error means the feed cannot be read
// further (malformed XML, a cut-short JSON array, a failed read) and the run
// fails.
//
// # Mapping
//
// A Mapping names the field that identifies an item across runs (its
// external id, "id" by default) and which fields to keep. ContentHash gives a
// stable hash of the kept fields, so a run can tell created, updated and
// unchanged items apart without comparing them field by field.
//
// # Runs
//
// A Run is one execution of an Import, queued by Store.NewRun (never two of
// one import at once) and taken to its end by a Runner in a worker. Every
// run ends with exactly one event through the Events the Store was built
// with: import.completed when it succeeded or found the feed unchanged,
// import.failed when it failed, was cancelled (queued or running; status
// "cancelled" in the data) or could not be handed to the queue
// (Store.FailQueued). The event is recorded before the run shows as ended,
// so it is never lost; a process that dies in between may tell of the end
// twice, as deliveries are at least once anyway.
//
// The feedgen subpackage writes realistic feeds of any size for tests and
// benchmarks, and the command cmd/feedgen, at the module's root, wraps it
// for the command line.
//
// # Files
//
//   - import.go: the Import model, its input and validation, and the Store
//     of imports (create, edit, list, delete, the schedules due).
//   - run.go: the Run model and the run store: queueing a run (never two
//     of one import at once), its progress, its end and its event.
//   - runner.go: the Runner that takes a run to its end in a worker:
//     fetching through the Sender, decompressing, parsing, mapping, the
//     catalogue upserts, the time limit and the bad-row threshold.
//   - item.go: Item, Format, NewParser and the Parser interface.
//   - csv.go, json.go, xml.go: the streaming parsers (CSV/TSV; a JSON array
//     and JSON Lines; YML, Google Merchant RSS/Atom and generic XML).
//   - mapping.go: Mapping and ContentHash.
//   - wake.go: Waker, which makes the runs waiting for a connection go
//     when it can be used again.
//   - catalog.go: the catalogue of items an import keeps, upserted in
//     batches.
package importer
