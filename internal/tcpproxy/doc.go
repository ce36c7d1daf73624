// Package tcpproxy is a TCP proxy on loopback that can be cut and
// restored: tests and recoverybench put it in front of PostgreSQL to
// take the database away from Liaison without touching the server, which
// other work shares.
//
// # Files
//
//   - tcpproxy.go: Proxy: New, Cut, Restore and Close.
package tcpproxy
