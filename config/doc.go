// Package config owns Liaison's configuration: the one Config struct that main
// loads from the environment once, at start-up, and passes down as values.
//
// Load reads every variable through the getenv function it is given (so tests
// never touch the real environment), parses them, and checks the result with
// go-playground/validator. A bad configuration is reported whole: Load returns
// an *Error that lists every problem at once, each naming the variable, what is
// wrong and what is expected. Values of secret variables (SECRET_KEYS, and the
// URLs that may carry passwords) are never repeated in those messages.
//
// A default is declared once, by the package that applies it
// (jobs.DefaultDeliveryConcurrency, hooks.DefaultSchedule, db.DefaultPoolSize,
// api.DefaultMaxBodyBytes…; each field's comment names it), and Load takes an
// unset variable's value from there; only LISTEN_ADDR and DATABASE_URL are
// config's own. The README's table of variables is checked against what Load
// takes (TestREADMEDefaultsAreTheConstants), so it cannot drift. None of those
// packages imports config.
//
// No other package reads the environment.
//
// # Files
//
//   - config.go: Config, Load and the check of every variable (Error lists
//     each Problem), Variables, and what the fields derive (SQLitePath,
//     Postgres, RedirectURI).
package config
