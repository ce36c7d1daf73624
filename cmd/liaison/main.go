package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/liaison/liaison/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// exitError carries an exit code: 2 for bad configuration or usage.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

type command struct {
	name, summary, usage string
	run                  func(ctx context.Context, env *environment, args []string) error
}

// commands lists the subcommands; tokens.go adds its own.
var commands = []command{
	{"dev", "run web, worker and scheduler in one process (the default)", "", runDev},
	{"serve", "run the web process: JSON API, OAuth callback, health", "", runServe},
	{"worker", "run the worker process: every task handler", "", runWorker},
	{"scheduler", "run the scheduler process: periodic tasks", "", runScheduler},
	{"migrate", "apply database migrations and exit", "", runMigrate},
	{"users", "create web UI users (create --email E --role admin|member [--password-stdin])", "create --email E --role admin|member [--password-stdin]", runUsers},
	{"version", "print the version", "", nil}, // answered before the configuration is read
}

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	name := "dev"
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "-help", "--help":
			usage(stdout)
			return 0
		}
		if args[0] != "" && args[0][0] != '-' {
			name, args = args[0], args[1:]
		}
	}
	var cmd *command
	for i := range commands {
		if commands[i].name == name {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "liaison: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}

	fs := flag.NewFlagSet("liaison "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "liaison %s: %s\n\nusage: liaison %s %s\n", cmd.name, cmd.summary, cmd.name, cmd.usage)
		if cmd.name != "version" {
			fmt.Fprintf(fs.Output(), "\nConfiguration comes from the environment; see the README for each of:\n%s\n", wrap(config.Variables(), 78))
		}
		fs.PrintDefaults()
	}
	if cmd.name != "tokens" && cmd.name != "users" { // they parse their own flags
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				fs.Usage()
				return 0
			}
			return 2
		}
		args = fs.Args()
	}

	if cmd.name == "version" {
		// The version is worth knowing most when the configuration is
		// broken, so it needs none.
		fmt.Fprintln(stdout, "liaison", version)
		return 0
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "liaison: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	env := newEnvironment(cfg, cmd.name, stdout, stderr)
	if err := cmd.run(ctx, env, args); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			fmt.Fprintf(stderr, "liaison %s: %v\n", cmd.name, ee.err)
			return ee.code
		}
		fmt.Fprintf(stderr, "liaison %s: %v\n", cmd.name, err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Liaison %s: outbound connector and webhook worker.\n\nusage: liaison [command] [--help]\n\ncommands:\n", version)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
}

// wrap joins words with ", " into lines of at most width characters,
// each indented by two spaces.
func wrap(words []string, width int) string {
	var b strings.Builder
	line := 0
	for i, w := range words {
		if i > 0 {
			b.WriteString(",")
			line++
		}
		if line == 0 || line+1+len(w) > width {
			if i > 0 {
				b.WriteString("\n")
			}
			b.WriteString("  ")
			line = 2
		} else {
			b.WriteString(" ")
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}
