package ui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/apptest"
	"github.com/liaison/liaison/internal/db"
	"github.com/liaison/liaison/internal/users"
)

// After a person has used every screen that takes a secret — a password,
// an OAuth client secret, the provider's access and refresh tokens, a
// private integration's token, the session cookie — none of them is in
// any page, in any log line, or in any column of any table in plaintext.
func TestNoSecretInPagesLogsOrTheDatabase(t *testing.T) {
	p := openPage(t)
	prov := consentProvider(p)
	p.signInNew("admin@example.com", users.RoleAdmin)
	id := p.createOAuthConnection(prov, "CRM")
	p.connect("")
	p.click("Refresh now")
	p.waitText("The token was refreshed.")
	p.click("Test")
	p.waitText("Test worked")

	p.click("Private integrations")
	p.click("Create new integration")
	p.fill("Name", "Zapier")
	p.click("Next")
	p.tick("Read connections")
	p.click("Create")
	integration := p.copyToken()
	p.click("Done")

	_, sessionSecret, ok := strings.Cut(p.sessionCookie(), ".")
	require.True(t, ok)
	secrets := map[string]string{"password": testPassword, "client secret": apptest.ClientSecret,
		"integration token": integration, "session secret": sessionSecret}
	for i, tok := range prov.IssuedTokens() {
		secrets[fmt.Sprintf("provider token %d", i)] = tok
	}
	require.Greater(t, len(secrets), 6, "the provider issued an access token and a refresh token, then refreshed them")

	pages := map[string]string{}
	for _, path := range []string{"/connections", "/connections/" + id, "/connections/" + id + "/edit", "/integrations", p.path(), "/users"} {
		p.visit(path)
		p.run(chromedp.WaitVisible(chromedp.CSS("main h1")))
		pages[path] = p.html()
	}
	tables := tableDump(t, p.b.DB.DB)
	logs := p.b.Logs.String()
	require.NotEmpty(t, logs)
	for what, value := range secrets {
		for path, html := range pages {
			assert.NotContains(t, html, value, "the %s is in the page %s", what, path)
		}
		assert.NotContains(t, logs, value, "the %s is in the log", what)
		for table, text := range tables {
			assert.NotContains(t, text, value, "the %s is in plaintext in table %s", what, table)
		}
	}
}

// tableDump is every table of d as text, each row's columns in turn.
func tableDump(t *testing.T, d *db.DB) map[string]string {
	t.Helper()
	ctx := context.Background()
	list := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if d.Dialect == db.Postgres {
		list = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	}
	rows, err := d.QueryContext(ctx, list)
	require.NoError(t, err)
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	require.NoError(t, rows.Err())
	rows.Close()
	require.Contains(t, names, "connections")

	out := map[string]string{}
	for _, name := range names {
		rows, err := d.QueryContext(ctx, `SELECT * FROM `+name)
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		var b strings.Builder
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for _, v := range vals {
				if raw, ok := v.([]byte); ok {
					v = string(raw)
				}
				fmt.Fprintf(&b, "%v\t", v)
			}
			b.WriteByte('\n')
		}
		require.NoError(t, rows.Err())
		rows.Close()
		out[name] = b.String()
	}
	return out
}
