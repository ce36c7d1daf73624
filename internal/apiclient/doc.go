// Package apiclient is a small client of Liaison's HTTP API for the
// commands that drive a running Liaison from outside, as a user's program
// would: the benches. It sends JSON with an access token and decodes the
// answer; an answer other than the one expected is an error that carries
// what the API said.
//
// # Files
//
//   - apiclient.go: Client with Post and Get.
package apiclient
