package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/apptest"
)

var secretShape = regexp.MustCompile(`^lsn_[0-9A-Za-z]{49}$`)

func createToken(t *testing.T, b *apptest.Bundle, admin string, body any) map[string]any {
	t.Helper()
	resp, out := b.Do(t, http.MethodPost, "/v1/tokens", admin, body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%v", out)
	return out
}

func TestCreateShowsSecretOnceAndStoresOnlyAHash(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	admin := b.Token(t, access.AllScopes...)

	out := createToken(t, b, admin, map[string]any{"name": "CRM sync", "description": "pushes contacts", "scopes": []string{"hooks.read", "connections.read"}})
	secret := out["secret"].(string)
	id := out["id"].(string)
	require.Regexp(t, secretShape, secret)
	require.Equal(t, "CRM sync", out["name"])
	require.Equal(t, []any{"connections.read", "hooks.read"}, out["scopes"])
	hint := out["hint"].(string)
	require.Regexp(t, `^lsn_[0-9A-Za-z]{4}\*\*\*\*[0-9A-Za-z]{4}$`, hint)
	require.True(t, strings.HasPrefix(secret, hint[:8]) && strings.HasSuffix(secret, hint[len(hint)-4:]))
	require.Contains(t, out["created_by"], "token:")

	// Never again: not in the view, not in the list.
	resp, view := b.Do(t, http.MethodGet, "/v1/tokens/"+id, admin, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, id, view["id"])
	require.NotContains(t, view, "secret")
	require.Equal(t, hint, view["hint"])
	var listed map[string]any
	resp, listed = b.Do(t, http.MethodGet, "/v1/tokens", admin, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, _ := json.Marshal(listed)
	require.NotContains(t, string(raw), secret)
	require.Len(t, listed["data"], 2)

	// The database holds no plaintext secret, only hashes and hints.
	require.NotContains(t, b.DB.Dump(t, "access_tokens"), secret[4:20])

	// The new secret works, with exactly its scopes.
	resp, _ = b.Do(t, http.MethodGet, "/v1/tokens", secret, nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// Two people pressing "rotate and expire later" at once: one rotation
// happens, the other is refused, and the secret the winner was shown works.
// A tokens.manage token given to one integration cannot raise itself: it
// grants only scopes it holds, and cannot edit, rotate (and so read the new
// secret of) or delete a token holding scopes it lacks.
func TestATokenCannotRaiseItself(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	root := b.Token(t, access.AllScopes...)
	limited := b.Token(t, access.ScopeTokensManage, access.ScopeHooksRead)

	// Within its own scopes it manages tokens as any other.
	mine := createToken(t, b, limited, map[string]any{"name": "reader", "scopes": []string{"hooks.read"}})
	resp, _ := b.Do(t, http.MethodPost, "/v1/tokens/"+mine["id"].(string)+"/rotate", limited, map[string]any{"expire": "now"})
	require.Equal(t, http.StatusOK, resp.StatusCode)

	resp, p := b.Do(t, http.MethodPost, "/v1/tokens", limited, map[string]any{"name": "more", "scopes": []string{"hooks.read", "connections.write", "tokens.manage"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "%v", p)
	require.Equal(t, []string{"scopes"}, apptest.FieldsOf(p))
	require.Contains(t, p["detail"], "connections.write")
	require.NotContains(t, p["detail"], "tokens.manage", "only what it lacks is named")

	resp, p = b.Do(t, http.MethodPatch, "/v1/tokens/"+mine["id"].(string), limited, map[string]any{"scopes": []string{"hooks.write"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "%v", p)
	require.Equal(t, []string{"scopes"}, apptest.FieldsOf(p))

	// A more powerful token is out of its reach, whatever the action.
	strong := createToken(t, b, root, map[string]any{"name": "ops", "scopes": access.AllScopes})
	id := strong["id"].(string)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/v1/tokens/" + id + "/rotate", map[string]any{"expire": "later"}},
		{http.MethodPatch, "/v1/tokens/" + id, map[string]any{"name": "mine now"}},
		{http.MethodDelete, "/v1/tokens/" + id, nil},
		{http.MethodPost, "/v1/tokens/" + id + "/rotation/cancel", nil},
		{http.MethodPost, "/v1/tokens/" + id + "/rotation/expire", nil},
	} {
		resp, p := b.Do(t, c.method, c.path, limited, c.body)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %s: %v", c.method, c.path, p)
		require.NotContains(t, p, "secret")
	}
	resp, view := b.Do(t, http.MethodGet, "/v1/tokens/"+id, strong["secret"].(string), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the strong token still works, unchanged")
	require.Equal(t, "ops", view["name"])
	require.NotContains(t, view, "rotation", "no rotation was started")
}

func TestConcurrentRotationsLeaveOneWorkingSecret(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	admin := b.Token(t, access.ScopeTokensManage)
	out := createToken(t, b, admin, map[string]any{"name": "svc", "scopes": []string{"tokens.manage"}})
	id := out["id"].(string)

	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		issued  []string
		refused int
	)
	for range n {
		wg.Go(func() {
			resp, rot := b.Do(t, http.MethodPost, "/v1/tokens/"+id+"/rotate", admin, map[string]any{"expire": "later"})
			mu.Lock()
			defer mu.Unlock()
			switch resp.StatusCode {
			case http.StatusOK:
				issued = append(issued, rot["secret"].(string))
			case http.StatusConflict:
				refused++
			default:
				t.Errorf("rotate answered %d: %v", resp.StatusCode, rot)
			}
		})
	}
	wg.Wait()
	require.Len(t, issued, 1, "exactly one rotation happens")
	require.Equal(t, n-1, refused)
	resp, _ := b.Do(t, http.MethodGet, "/v1/tokens/"+id, issued[0], nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the secret that was shown works")
}

func TestRotateLaterKeepsBothThenOldExpires(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	admin := b.Token(t, access.ScopeTokensManage)
	out := createToken(t, b, admin, map[string]any{"name": "svc", "scopes": []string{"tokens.manage"}})
	id, oldSecret := out["id"].(string), out["secret"].(string)

	resp, rot := b.Do(t, http.MethodPost, "/v1/tokens/"+id+"/rotate", admin, map[string]any{"expire": "later"})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", rot)
	newSecret := rot["secret"].(string)
	require.NotEqual(t, oldSecret, newSecret)
	rotation := rot["rotation"].(map[string]any)
	expires, err := time.Parse(time.RFC3339Nano, rotation["expires_at"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(7*24*time.Hour), expires, time.Minute)

	for _, s := range []string{oldSecret, newSecret} {
		resp, _ := b.Do(t, http.MethodGet, "/v1/tokens/"+id, s, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "both secrets work during the overlap")
	}

	// A second rotation while one is in progress is refused.
	resp, _ = b.Do(t, http.MethodPost, "/v1/tokens/"+id+"/rotate", admin, map[string]any{"expire": "later"})
	require.Equal(t, http.StatusConflict, resp.StatusCode)

	// After the overlap, the old secret stops.
	b.Tokens.SetClock(func() time.Time { return time.Now().Add(7*24*time.Hour + time.Minute) })
	resp, _ = b.Do(t, http.MethodGet, "/v1/tokens/"+id, oldSecret, nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, view := b.Do(t, http.MethodGet, "/v1/tokens/"+id, newSecret, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotContains(t, view, "rotation")
}

func TestCancelRotationKeepsOldSecretPrimary(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	admin := b.Token(t, access.ScopeTokensManage)
	out := createToken(t, b, admin, map[string]any{"name": "svc", "scopes": []string{"tokens.manage"}})
	id, oldSecret, oldHint := out["id"].(string), out["secret"].(string), out["hint"].(string)

	_, rot := b.Do(t, http.MethodPost, "/v1/tokens/"+id+"/rotate", admin, map[string]any{"expire": "later"})
	newSecret := rot["secret"].(string)

	resp, view := b.Do(t, http.MethodPost, "/v1/tokens/"+id+"/rotation/cancel", admin, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", view)
	require.Equal(t, oldHint, view["hint"])
	require.NotContains(t, view, "rotation")

	resp, _ = b.Do(t, http.MethodGet, "/v1/tokens/"+id, newSecret, nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the new secret stops")
	resp, _ = b.Do(t, http.MethodGet, "/v1/tokens/"+id, oldSecret, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the old secret stays")

	// Nothing left to cancel or expire.
	resp, _ = b.Do(t, http.MethodPost, "/v1/tokens/"+id+"/rotation/cancel", admin, nil)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	resp, _ = b.Do(t, http.MethodPost, "/v1/tokens/"+id+"/rotation/expire", admin, nil)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
}

func TestExpireRotationNowStopsOldSecret(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	admin := b.Token(t, access.ScopeTokensManage)
	out := createToken(t, b, admin, map[string]any{"name": "svc", "scopes": []string{"tokens.manage"}})
	id, oldSecret := out["id"].(string), out["secret"].(string)
	_, rot := b.Do(t, http.MethodPost, "/v1/tokens/"+id+"/rotate", admin, map[string]any{"expire": "later"})
	newSecret := rot["secret"].(string)

	resp, _ := b.Do(t, http.MethodPost, "/v1/tokens/"+id+"/rotation/expire", admin, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = b.Do(t, http.MethodGet, "/v1/tokens/"+id, oldSecret, nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = b.Do(t, http.MethodGet, "/v1/tokens/"+id, newSecret, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestRotateNowForALeakedSecret(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	admin := b.Token(t, access.ScopeTokensManage)
	out := createToken(t, b, admin, map[string]any{"name": "leaked", "scopes": []string{"tokens.manage"}})
	id, oldSecret := out["id"].(string), out["secret"].(string)

	resp, rot := b.Do(t, http.MethodPost, "/v1/tokens/"+id+"/rotate", admin, map[string]any{"expire": "now"})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", rot)
	require.NotContains(t, rot, "rotation")
	resp, _ = b.Do(t, http.MethodGet, "/v1/tokens/"+id, oldSecret, nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = b.Do(t, http.MethodGet, "/v1/tokens/"+id, rot["secret"].(string), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	resp, p := b.Do(t, http.MethodPost, "/v1/tokens/"+id+"/rotate", admin, map[string]any{"expire": "soon"})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Equal(t, "expire", p["errors"].([]any)[0].(map[string]any)["field"])
}

func TestEditKeepsTheSecret(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	admin := b.Token(t, access.AllScopes...)
	out := createToken(t, b, admin, map[string]any{"name": "svc", "scopes": []string{"hooks.read"}})
	id, secret := out["id"].(string), out["secret"].(string)

	resp, view := b.Do(t, http.MethodPatch, "/v1/tokens/"+id, admin, map[string]any{"name": "renamed", "scopes": []string{"tokens.manage"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, "%v", view)
	require.Equal(t, "renamed", view["name"])
	require.Equal(t, out["hint"], view["hint"])
	require.Equal(t, []any{"tokens.manage"}, view["scopes"])
	require.NotEqual(t, out["updated_at"], view["updated_at"])

	// The same secret now has the new scopes.
	resp, _ = b.Do(t, http.MethodGet, "/v1/tokens/"+id, secret, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestDeleteStopsTheTokenAtOnce(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	admin := b.Token(t, access.ScopeTokensManage)
	out := createToken(t, b, admin, map[string]any{"name": "svc", "scopes": []string{"tokens.manage"}})
	id, secret := out["id"].(string), out["secret"].(string)
	resp, _ := b.Do(t, http.MethodGet, "/v1/tokens", secret, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	resp, _ = b.Do(t, http.MethodDelete, "/v1/tokens/"+id, admin, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, _ = b.Do(t, http.MethodGet, "/v1/tokens", secret, nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = b.Do(t, http.MethodDelete, "/v1/tokens/"+id, admin, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestLastUsedIsWrittenAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	admin := b.Token(t, access.ScopeTokensManage)
	out := createToken(t, b, admin, map[string]any{"name": "svc", "scopes": []string{"tokens.manage"}})
	id, secret := out["id"].(string), out["secret"].(string)
	require.Nil(t, out["last_used_at"])

	lastUsed := func() string {
		var v any
		require.NoError(t, b.DB.QueryRowContext(context.Background(), `SELECT last_used_at FROM access_tokens WHERE id = $1`, id).Scan(&v))
		if v == nil {
			return ""
		}
		raw, _ := json.Marshal(v)
		return string(raw)
	}
	now := time.Now()
	b.Tokens.SetClock(func() time.Time { return now })
	b.Do(t, http.MethodGet, "/v1/tokens", secret, nil)
	first := lastUsed()
	require.NotEmpty(t, first)

	now = now.Add(30 * time.Second)
	for range 5 {
		b.Do(t, http.MethodGet, "/v1/tokens", secret, nil)
	}
	require.Equal(t, first, lastUsed(), "no write within the minute")

	now = now.Add(31 * time.Second)
	b.Do(t, http.MethodGet, "/v1/tokens", secret, nil)
	require.NotEqual(t, first, lastUsed())
	_, view := b.Do(t, http.MethodGet, "/v1/tokens/"+id, admin, nil)
	require.NotNil(t, view["last_used_at"])
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	admin := b.Token(t, access.AllScopes...)
	count := func() int {
		n, err := b.Tokens.Count(context.Background())
		require.NoError(t, err)
		return n
	}
	before := count()

	cases := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"over-long name", map[string]any{"name": strings.Repeat("n", 201), "scopes": []string{"hooks.read"}}, 422, "name"},
		{"missing name", map[string]any{"scopes": []string{"hooks.read"}}, 422, "name"},
		{"over-long description", map[string]any{"name": "x", "description": strings.Repeat("d", 501), "scopes": []string{"hooks.read"}}, 422, "description"},
		{"unknown scope", map[string]any{"name": "x", "scopes": []string{"hooks.read", "everything"}}, 422, "scopes[1]"},
		{"no scopes", map[string]any{"name": "x", "scopes": []string{}}, 422, "scopes"},
		{"name of the wrong type", map[string]any{"name": 5, "scopes": []string{"hooks.read"}}, 400, "name"},
		{"unknown field", map[string]any{"name": "x", "scopes": []string{"hooks.read"}, "secret": "mine"}, 400, "secret"},
		{"malformed JSON", `{"name": "x", "scopes": [`, 400, "body"},
		{"not JSON at all", `name=x`, 400, "body"},
		{"empty body", ``, 400, "body"},
		{"10 MB body", `{"name": "` + strings.Repeat("a", 10<<20) + `"}`, 413, "body"},
	}
	for _, c := range cases {
		resp, p := b.Do(t, http.MethodPost, "/v1/tokens", admin, c.body)
		require.Equal(t, c.status, resp.StatusCode, "%s: %v", c.name, p)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), c.name)
		var fields []string
		for _, e := range p["errors"].([]any) {
			fields = append(fields, e.(map[string]any)["field"].(string))
		}
		require.Contains(t, fields, c.field, "%s: %v", c.name, p)
	}
	require.Equal(t, before, count(), "bad input created nothing")

	// A bad edit changes nothing either.
	out := createToken(t, b, admin, map[string]any{"name": "keep", "scopes": []string{"hooks.read"}})
	resp, _ := b.Do(t, http.MethodPatch, "/v1/tokens/"+out["id"].(string), admin, map[string]any{"name": "ok", "scopes": []string{"nope"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	_, view := b.Do(t, http.MethodGet, "/v1/tokens/"+out["id"].(string), admin, nil)
	require.Equal(t, "keep", view["name"])
	resp, _ = b.Do(t, http.MethodGet, "/v1/tokens/tok_nope", admin, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// TestEveryRouteNeedsItsScope walks every registered /v1 route: without a
// token it answers 401 with WWW-Authenticate: Bearer; with a token that has
// every scope but the route's, 403 naming that scope. A new route without a
// scope fails here (or panics at start-up).
func TestEveryRouteNeedsItsScope(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	routes := b.API.Routes()
	require.NotEmpty(t, routes)
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		require.False(t, rt.Public, "%s is public", rt.Pattern)
		require.Contains(t, access.AllScopes, rt.Scope, "%s needs an unknown scope", rt.Pattern)
		path = regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllString(path, "x")

		resp, p := b.Do(t, method, path, "", nil)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, rt.Pattern)
		require.True(t, strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer"), rt.Pattern)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		_ = p

		others := slices.DeleteFunc(slices.Clone(access.AllScopes), func(s string) bool { return s == rt.Scope })
		resp, p = b.Do(t, method, path, b.Token(t, others...), nil)
		require.Equal(t, http.StatusForbidden, resp.StatusCode, rt.Pattern)
		require.Contains(t, p["detail"], rt.Scope, rt.Pattern)
		require.Contains(t, resp.Header.Get("WWW-Authenticate"), `scope="`+rt.Scope+`"`)
	}
}

func TestInvalidSecretsAre401(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	secret := b.Token(t, access.ScopeTokensManage)
	forged := secret[:10] + strings.Repeat("A", len(secret)-10) // a bad checksum
	for _, s := range []string{"nonsense", forged, "lsn_" + strings.Repeat("0", 49)} {
		resp, _ := b.Do(t, http.MethodGet, "/v1/tokens", s, nil)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, s)
		require.Contains(t, resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
	}
}

func TestFailedAuthenticationsAreLimitedButValidTokensPass(t *testing.T) {
	t.Parallel()
	b := apptest.Setup(t)
	secret := b.Token(t, access.ScopeTokensManage)
	limited := false
	for i := range 30 {
		resp, p := b.Do(t, http.MethodGet, "/v1/tokens", "lsn_wrong", nil)
		if resp.StatusCode == http.StatusTooManyRequests {
			require.GreaterOrEqual(t, i, 10, "the first failures get plain 401s")
			require.NotEmpty(t, resp.Header.Get("Retry-After"))
			require.Contains(t, p["detail"], "too many failed authentications")
			limited = true
			break
		}
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	require.True(t, limited, "repeated failures are slowed down")
	resp, _ := b.Do(t, http.MethodGet, "/v1/tokens", secret, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "a valid token from the same address still passes")
}

var _ = api.New
