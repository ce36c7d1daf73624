package oauthfake_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/liaison/liaison/internal/oauthfake"
)

// consentID opens the consent page of an authorization request and
// returns the consent it asks about.
func consentID(t *testing.T, b *testBundle, authURL string) string {
	t.Helper()
	resp, err := http.Get(authURL)
	require.NoError(t, err)
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", page)
	require.Contains(t, string(page), "Liaison wants access to: <strong>contacts.read</strong>, <strong>offline_access</strong>")
	require.Contains(t, string(page), ">Allow</button>")
	require.Contains(t, string(page), ">Deny</button>")
	_, after, ok := strings.Cut(string(page), `name="consent" value="`)
	require.True(t, ok)
	id, _, _ := strings.Cut(after, `"`)
	return id
}

// answer posts the consent page's form and returns where the browser is
// sent (nil when it is not redirected) and the status.
func answer(t *testing.T, b *testBundle, id, decision string) (*url.URL, int) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(b.p.URL()+"/consent", url.Values{"consent": {id}, "decision": {decision}})
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, resp.StatusCode
	}
	loc, err := resp.Location()
	require.NoError(t, err)
	return loc, resp.StatusCode
}

func TestConsentPageAllowIssuesTheCode(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{ConsentPage: true})
	verifier := oauth2.GenerateVerifier()
	id := consentID(t, b, b.cfg.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier)))

	loc, _ := answer(t, b, id, "allow")
	require.NotNil(t, loc)
	require.Equal(t, "s1", loc.Query().Get("state"))
	tok, err := b.cfg.Exchange(t.Context(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err, "the code works, with the PKCE check of the request")
	require.NotEmpty(t, tok.AccessToken)

	_, status := answer(t, b, id, "allow")
	require.Equal(t, http.StatusBadRequest, status, "a consent is answered once")
}

func TestConsentPageDeny(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{ConsentPage: true})
	id := consentID(t, b, b.cfg.AuthCodeURL("s2"))
	loc, _ := answer(t, b, id, "deny")
	require.NotNil(t, loc)
	require.Equal(t, "access_denied", loc.Query().Get("error"))
	require.Equal(t, "s2", loc.Query().Get("state"))
	require.Empty(t, loc.Query().Get("code"))
}

func TestConsentPageChecksTheRequestFirst(t *testing.T) {
	t.Parallel()
	b := setup(t, oauthfake.Options{ConsentPage: true})
	b.p.ExpectViolations()
	bad := *b.cfg
	bad.RedirectURL = redirectURI + "/"
	resp, err := http.Get(bad.AuthCodeURL("s3"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "an unregistered redirect URI gets the error page, not the consent page")
	require.Len(t, b.p.Violations(), 1)
}
