// Command importbench imports a generated feed of N items into the
// database DATABASE_URL names (an SQLite file in a temporary folder when
// unset) through the real import path: HTTP fetch through the SSRF guard,
// streaming parser, mapping, batched catalogue upsert, progress reports.
// It prints items per second and the process's peak resident memory.
//
//	DATABASE_URL=postgres://postgres@127.0.0.1:5432/test go run ./cmd/importbench -items 1000000 -format csv
//
// The feed is generated while it is served, so no file of that size is
// stored anywhere; the generator runs in this process and its (constant)
// memory is part of the peak. Each run uses a fresh schema (PostgreSQL) or
// file (SQLite) and removes it afterwards.
//
// # Files
//
//   - main.go: the flags, the run (a feed served on loopback, imports on a
//     fresh database) and the peak memory (peakRSS).
package main
