// Command liaison runs Liaison: the web process (serve), the worker, the
// scheduler, or all three in one process (dev, the default), plus the
// operator's commands (migrate, tokens, users, version). Configuration comes from
// the environment only; see the config package and the README.
//
// # Files
//
//   - main.go: the commands, flags, help and exit codes (2 for bad
//     configuration or usage).
//   - app.go: the environment of one command: logging, the application
//     built by internal/app, HTTP serving and stopping within the bound.
//   - processes.go: dev, serve, worker, scheduler and migrate.
//   - tokens.go: liaison tokens create|list, and the token dev prints for a
//     new database.
//   - users.go: liaison users create, a web UI user with a password from
//     stdin or an invitation link, and the setup link dev prints while no
//     user exists.
package main
