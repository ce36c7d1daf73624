package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/users"
)

func TestIntegrationsNeedTheRight(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	member(t, b, "ana@example.com", users.RoleMember)
	_, err := b.App.Users.Create(ctx, users.Input{Email: "boss@example.com", Password: testPassword, Role: users.RoleAdmin, ManagesIntegrations: new(false)})
	require.NoError(t, err)
	issued, err := b.App.Tokens.Create(ctx, access.Input{Name: new("Zapier"), Scopes: &[]string{access.ScopeConnectionsRead}}, access.ByCommandLine("root"))
	require.NoError(t, err)
	rotated, err := b.App.Tokens.Rotate(ctx, issued.ID, false)
	require.NoError(t, err)
	count, err := b.App.Tokens.Count(ctx)
	require.NoError(t, err)
	base := "/integrations/" + issued.ID

	for _, email := range []string{"ana@example.com", "boss@example.com"} {
		cookie := signIn(t, b, email, "")
		connections := send(t, b, http.MethodGet, "/connections", cookie, nil)
		assert.NotContains(t, connections.Body, `href="/integrations"`, "%s sees no menu entry", email)
		csrf := csrfOf(t, connections.Body)
		for _, path := range []string{"/integrations", "/integrations/new", base, base + "/edit", base + "/rotate?expire=later", base + "/rotate?expire=now", base + "/delete"} {
			a := send(t, b, http.MethodGet, path, cookie, nil)
			assert.Equal(t, http.StatusForbidden, a.StatusCode, "GET %s for %s", path, email)
			assert.Contains(t, a.Body, "You do not have access to this page")
		}
		for path, form := range map[string]url.Values{
			"/integrations/new":       {"step": {"create"}, "name": {"Mine"}, "scopes": {access.ScopeTokensManage}},
			base + "/edit":            {"name": {"Taken"}, "scopes": {access.ScopeTokensManage}},
			base + "/rotate":          {"expire": {"now"}},
			base + "/rotation/cancel": {},
			base + "/rotation/expire": {},
			base + "/delete":          {},
		} {
			form.Set("csrf", csrf)
			a := send(t, b, http.MethodPost, path, cookie, form)
			assert.Equal(t, http.StatusForbidden, a.StatusCode, "POST %s for %s", path, email)
		}
	}

	after, err := b.App.Tokens.Count(ctx)
	require.NoError(t, err)
	assert.Equal(t, count, after, "nothing was created or deleted")
	tok, err := b.App.Tokens.Get(ctx, issued.ID)
	require.NoError(t, err)
	assert.Equal(t, "Zapier", tok.Name)
	assert.Equal(t, []string{access.ScopeConnectionsRead}, tok.Scopes)
	assert.NotNil(t, tok.Rotation, "the rotation is neither cancelled nor expired")
	for _, secret := range []string{issued.Secret, rotated.Secret} {
		assert.Equal(t, http.StatusOK, apiStatus(t, b, secret, "/v1/connections"), "both secrets still work")
	}
}

func TestTheTokenIsShownOnlyOnce(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	member(t, b, "admin@example.com", users.RoleAdmin)
	cookie := signIn(t, b, "admin@example.com", "")
	_, err := b.App.Tokens.Create(ctx, access.Input{Name: new("Nightly export"), Scopes: &[]string{access.ScopeImportsRead}}, access.ByCommandLine("root"))
	require.NoError(t, err)

	form := send(t, b, http.MethodGet, "/integrations/new", cookie, nil)
	require.Equal(t, http.StatusOK, form.StatusCode)
	created := send(t, b, http.MethodPost, "/integrations/new", cookie, url.Values{"csrf": {csrfOf(t, form.Body)},
		"step": {"create"}, "name": {"Zapier"}, "description": {""}, "scopes": {access.ScopeEventsWrite, access.ScopeConnectionsRead}})
	require.Equal(t, http.StatusOK, created.StatusCode, created.Body)
	assert.Equal(t, "no-store", created.Header.Get("Cache-Control"))
	assert.Contains(t, created.Body, "Copy this token now. It will not be shown again.")

	tokens, _, err := b.App.Tokens.List(ctx, "", 10)
	require.NoError(t, err)
	var made access.Token
	for _, tok := range tokens {
		if tok.Name == "Zapier" {
			made = tok
		}
	}
	require.NotEmpty(t, made.ID)
	assert.Equal(t, access.ByUser("admin@example.com"), made.CreatedBy, "the maker is the user")
	assert.Equal(t, []string{access.ScopeConnectionsRead, access.ScopeEventsWrite}, made.Scopes)
	secret := between(t, created.Body, `id="token" type="text" readonly value="`, `"`)
	require.True(t, access.WellFormed(secret))
	assert.Equal(t, http.StatusOK, apiStatus(t, b, secret, "/v1/connections"))

	for _, path := range []string{"/integrations", "/integrations/" + made.ID, "/integrations/" + made.ID + "/edit"} {
		a := send(t, b, http.MethodGet, path, cookie, nil)
		require.Equal(t, http.StatusOK, a.StatusCode, path)
		assert.NotContains(t, a.Body, secret, "%s never shows the token again", path)
	}
	list := send(t, b, http.MethodGet, "/integrations", cookie, nil).Body
	assert.Contains(t, list, "admin@example.com")
	assert.Contains(t, list, "command line", "a token made on the command line says so")
}

func TestEditShowsErrorsAndSavesNothing(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	member(t, b, "admin@example.com", users.RoleAdmin)
	cookie := signIn(t, b, "admin@example.com", "")
	issued, err := b.App.Tokens.Create(ctx, access.Input{Name: new("Zapier"), Scopes: &[]string{access.ScopeEventsWrite}}, access.ByUser("admin@example.com"))
	require.NoError(t, err)
	path := "/integrations/" + issued.ID + "/edit"
	csrf := csrfOf(t, send(t, b, http.MethodGet, path, cookie, nil).Body)

	a := send(t, b, http.MethodPost, path, cookie, url.Values{"csrf": {csrf}, "name": {""}, "description": {"typed"}})
	assert.Equal(t, http.StatusUnprocessableEntity, a.StatusCode)
	assert.Contains(t, a.Body, "Name must not be empty.")
	assert.Contains(t, a.Body, "Choose at least one scope.")
	assert.Contains(t, a.Body, ">typed</textarea>", "what was typed is kept")
	tok, err := b.App.Tokens.Get(ctx, issued.ID)
	require.NoError(t, err)
	assert.Equal(t, "Zapier", tok.Name, "nothing saved")
	assert.Equal(t, issued.UpdatedAt, tok.UpdatedAt)

	missing := send(t, b, http.MethodGet, "/integrations/tok_nosuch", cookie, nil)
	assert.Equal(t, http.StatusNotFound, missing.StatusCode)
}

// between is the text of s between the first before and the after that
// follows it.
func between(t *testing.T, s, before, after string) string {
	t.Helper()
	_, rest, ok := strings.Cut(s, before)
	require.True(t, ok, "no %q in the page", before)
	v, _, _ := strings.Cut(rest, after)
	return v
}
