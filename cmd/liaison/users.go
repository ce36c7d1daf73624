package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/liaison/liaison/internal/app"
	"github.com/liaison/liaison/internal/invalid"
	"github.com/liaison/liaison/internal/users"
)

// The web UI's paths of one-time links (issue 15): the first admin's
// setup and an invitation.
const (
	setupPath  = "/setup/"
	invitePath = "/invite/"
)

// runUsers makes web UI users from the command line, against whatever
// database the environment names: with --password-stdin the password is
// read from the first line of stdin (never from a flag, which other users
// of the machine could read in the process list); without it the user is
// invited and stdout is the one-time link and nothing else.
func runUsers(ctx context.Context, e *environment, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(e.stdout, "liaison users: create web UI users\n\nusage:\n  liaison users create --email E --role admin|member [--password-stdin]\n\n"+
			"Without --password-stdin the user is invited: the one-time link printed (%s<token>) lets them choose a password.\n", e.cfg.PublicURL+invitePath)
		if len(args) == 0 {
			return &exitError{2, errors.New("a subcommand is required: create")}
		}
		return nil
	}
	if args[0] != "create" {
		return &exitError{2, fmt.Errorf("unknown users subcommand %q: expected create", args[0])}
	}
	fs := flag.NewFlagSet("liaison users create", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	email := fs.String("email", "", "the user's email (required)")
	role := fs.String("role", string(users.RoleMember), "admin or member")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of inviting the user")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &exitError{2, err}
	}
	in := users.Input{Email: *email, Role: users.Role(*role)}
	if *fromStdin {
		pw, err := readPassword(e.stdin)
		if err != nil {
			return err
		}
		in.Password = pw
	}
	defer e.close()
	d, err := e.migratedDB(ctx)
	if err != nil {
		return err
	}
	svc, err := users.New(users.Options{DB: d})
	if err != nil {
		return err
	}
	if *fromStdin {
		u, err := svc.Create(ctx, in)
		if err != nil {
			return userError(e, err)
		}
		fmt.Fprintln(e.stdout, u.ID)
		return nil
	}
	u, token, err := svc.Invite(ctx, in)
	if err != nil {
		return userError(e, err)
	}
	fmt.Fprintln(e.stdout, e.cfg.PublicURL+invitePath+token)
	fmt.Fprintf(e.stderr, "%s (%s) was created without a password. The link above lets them choose one, once, within %s.\n",
		u.Email, u.Role, users.DefaultLinkLifetime)
	return nil
}

// setupLink is the one-time link dev prints while no user exists, with
// which a person creates the first admin in the web UI; "" once there is
// one. A new one is made at each start, the old ones working until they
// expire or one is used.
func (e *environment) setupLink(ctx context.Context, p *app.App) (string, error) {
	token, ok, err := p.Users.SetupLink(ctx)
	if err != nil || !ok {
		return "", err
	}
	return e.cfg.PublicURL + setupPath + token, nil
}

// readPassword is the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// userError prints a refused input field by field, as the flag that set
// each, and exits 2.
func userError(e *environment, err error) error {
	ie, ok := invalid.As(err)
	if !ok {
		return err
	}
	for _, f := range ie.Fields {
		flag := "--" + f.Field
		if f.Field == "password" {
			flag = "--password-stdin"
		}
		fmt.Fprintf(e.stderr, "%s: %s\n", flag, f.Message)
	}
	return &exitError{2, errors.New("the user was not created")}
}
