// Package db opens Liaison's database and keeps its schema up to date.
//
// Two dialects are supported behind database/sql: PostgreSQL through pgx
// (DATABASE_URL=postgres://…), for production, and an embedded SQLite file
// through the pure-Go modernc.org/sqlite driver (DATABASE_URL=sqlite:PATH, the
// default), so that Liaison runs with nothing installed. Queries use $1-style
// placeholders, which both drivers accept (Placeholders writes a list of
// them); each domain package keeps its own queries next to its model and
// asks DB.Dialect where the two differ.
//
// Migrations are numbered SQL files, one folder per dialect, embedded in the
// binary. Migrate applies the ones a database has not seen, each in its own
// transaction, and records them in schema_migrations. Several processes may
// start at once: on PostgreSQL they queue on an advisory lock, on SQLite on
// the database's write lock, so each migration runs exactly once.
//
// # Files
//
//   - db.go: DB, Open and OpenWith for PostgreSQL (pgx) or SQLite, dialects,
//     Warm, transactions without waiting for the disk.
//   - pool.go: the pool's size and waits, and the retry of a full server.
//   - migrate.go: the numbered migrations of both dialects (migrations/),
//     applied once under a lock.
//   - unavailable.go: ErrUnavailable, Unavailable: what counts as the
//     database being out of reach.
//   - placeholders.go: Placeholders, the parameters of an IN list;
//     QueryStrings, a query of one text column; Args.
//   - page.go: Page, one page of a listing query and whether more follow.
//   - scratch.go: OpenScratch, a fresh database for a test or a benchmark.
package db
