// Package dbtest gives each test a database of its own: a fresh PostgreSQL
// schema when DATABASE_URL names a PostgreSQL server, a fresh SQLite file
// otherwise. Tests in parallel, and test packages run in parallel, never see
// each other's rows.
//
// # Files
//
//   - dbtest.go: New (a migrated database of the test's own), Empty (New
//     without migrating), Role (a PostgreSQL role with a connection limit),
//     and Database with Dump and Strings for reading rows in a test.
package dbtest
