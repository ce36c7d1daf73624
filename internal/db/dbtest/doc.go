// Package dbtest gives each test a database of its own: a fresh PostgreSQL
// schema when DATABASE_URL names a PostgreSQL server, a fresh SQLite file
// otherwise. Tests in parallel, and test packages run in parallel, never see
// each other's rows.
package dbtest
