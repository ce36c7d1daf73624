package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/app"
	"github.com/liaison/liaison/internal/invalid"
)

func init() {
	commands = append(commands, command{
		name: "tokens", summary: "create and list access tokens (create --name NAME --scopes a,b | list)",
		usage: "create --name NAME --scopes a,b [--description TEXT] | list", run: runTokens,
	})
}

// runTokens is the operator's way to make access tokens without the API,
// against whatever database the environment names. `create` prints the new
// secret and nothing else on stdout, so it can be captured by a script.
func runTokens(ctx context.Context, e *environment, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(e.stdout, "liaison tokens: create and list access tokens\n\nusage:\n  liaison tokens create --name NAME --scopes a,b [--description TEXT]\n  liaison tokens list\n\nscopes: %s\n", strings.Join(access.AllScopes, ", "))
		if len(args) == 0 {
			return &exitError{2, errors.New("a subcommand is required: create or list")}
		}
		return nil
	}
	defer e.close()
	open := func() (*access.Store, error) {
		d, err := e.migratedDB(ctx)
		if err != nil {
			return nil, err
		}
		return access.New(access.Options{DB: d, RotationOverlap: e.cfg.TokenRotationOverlap})
	}

	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("liaison tokens create", flag.ContinueOnError)
		fs.SetOutput(e.stderr)
		name := fs.String("name", "", "the token's name (required, at most 200 characters)")
		desc := fs.String("description", "", "what the token is for (at most 500 characters)")
		scopes := fs.String("scopes", "", "comma-separated scopes: "+strings.Join(access.AllScopes, ", "))
		if err := fs.Parse(args[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return &exitError{2, err}
		}
		in := access.Input{Name: name, Description: desc}
		if *scopes != "" {
			list := strings.Split(*scopes, ",")
			for i := range list {
				list[i] = strings.TrimSpace(list[i])
			}
			in.Scopes = &list
		}
		store, err := open()
		if err != nil {
			return err
		}
		issued, err := store.Create(ctx, in, access.ByCommandLine(osUser()))
		if ie, ok := invalid.As(err); ok {
			for _, f := range ie.Fields {
				fmt.Fprintf(e.stderr, "--%s: %s\n", strings.SplitN(f.Field, "[", 2)[0], f.Message)
			}
			return &exitError{2, errors.New("the token was not created")}
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, issued.Secret)
		return nil

	case "list":
		store, err := open()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tHINT\tSCOPES\tCREATED\tLAST USED")
		cursor := ""
		for {
			toks, more, err := store.List(ctx, cursor, 200)
			if err != nil {
				return err
			}
			for _, t := range toks {
				last := "never"
				if t.LastUsedAt != nil {
					last = t.LastUsedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Hint, strings.Join(t.Scopes, ","), t.CreatedAt.Format(time.RFC3339), last)
			}
			if !more {
				break
			}
			cursor = toks[len(toks)-1].ID
		}
		return tw.Flush()
	}
	return &exitError{2, fmt.Errorf("unknown tokens subcommand %q: expected create or list", args[0])}
}

func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}

// bootstrapToken makes one all-scopes token when dev starts on a database
// that has none, so a person can use the API at once. The secret is
// returned to be printed once; it is never logged.
func (e *environment) bootstrapToken(ctx context.Context, p *app.App) (string, error) {
	n, err := p.Tokens.Count(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	name, desc := "liaison dev", "made by liaison dev on a new database"
	scopes := append([]string(nil), access.AllScopes...)
	issued, err := p.Tokens.Create(ctx, access.Input{Name: &name, Description: &desc, Scopes: &scopes}, "liaison dev")
	if err != nil {
		return "", fmt.Errorf("creating the first access token: %w", err)
	}
	return issued.Secret, nil
}
