package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/users"
)

// liaisonWithInput runs the built binary with stdin and exactly env (plus
// PATH/HOME), and gives its exit code, stdout and stderr.
func liaisonWithInput(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running liaison %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

func TestUsersCommand(t *testing.T) {
	t.Parallel()
	database := dbtest.Empty(t)
	env := map[string]string{"DATABASE_URL": database.URL, "PUBLIC_URL": "https://liaison.example.com"}

	code, out, errs := liaisonWithInput(t, env, "correct horse battery\n", "users", "create", "--email", " Ada@Example.com", "--role", "admin", "--password-stdin")
	require.Equal(t, 0, code, errs)
	require.Regexp(t, `^usr_[0-9A-Za-z]{19}\n$`, out, "create prints the user's id and nothing else")

	svc, err := users.New(users.Options{DB: database.DB})
	require.NoError(t, err)
	u, _, err := svc.SignIn(context.Background(), "ada@example.com", "correct horse battery", "192.0.2.1")
	require.NoError(t, err, "the password read from stdin, without its line ending, signs in")
	require.Equal(t, users.RoleAdmin, u.Role)
	require.Equal(t, strings.TrimSpace(out), u.ID)

	code, out, errs = liaisonWithInput(t, env, "", "users", "create", "--email", "bob@example.com")
	require.Equal(t, 0, code, errs)
	m := regexp.MustCompile(`^https://liaison\.example\.com/invite/([A-Za-z0-9_-]{43})\n$`).FindStringSubmatch(out)
	require.NotNil(t, m, "without --password-stdin, stdout is the invitation link: %q", out)
	require.Contains(t, errs, "bob@example.com (member) was created without a password")
	l, err := svc.Link(context.Background(), m[1])
	require.NoError(t, err)
	require.Equal(t, users.PurposeInvite, l.Purpose)
	require.Equal(t, "bob@example.com", l.Email)

	code, out, errs = liaisonWithInput(t, env, "short\n", "users", "create", "--email", "nope", "--role", "root", "--password-stdin")
	require.Equal(t, 2, code)
	require.Empty(t, out)
	require.Contains(t, errs, "--email: is not an email address")
	require.Contains(t, errs, "--password-stdin: is 5 characters long; at least 10 are needed")
	require.Contains(t, errs, `--role: "root" is not a role`)
	require.Contains(t, errs, "liaison users: the user was not created")

	code, _, errs = liaisonWithInput(t, env, "", "users", "create", "--email", "ADA@example.com")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "--email: ada@example.com already has an account")
	n, err := svc.Count(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, n, "nothing refused was saved")

	code, _, _ = liaisonWithInput(t, env, "", "users")
	require.Equal(t, 2, code, "a subcommand is required")
	code, _, _ = liaisonWithInput(t, env, "", "users", "delete")
	require.Equal(t, 2, code)
}
