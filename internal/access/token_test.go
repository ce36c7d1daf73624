package access_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/access"
	"github.com/liaison/liaison/internal/clocktest"
	"github.com/liaison/liaison/internal/db/dbtest"
	"github.com/liaison/liaison/internal/invalid"
)

type testBundle struct {
	db    dbtest.Database
	store *access.Store
	clock *clocktest.Clock
}

// setup opens a database of the test's own and a store on it with the
// rotation overlap given (0 for the default), on a clock the test moves.
func setup(t *testing.T, overlap time.Duration) *testBundle {
	t.Helper()
	d := dbtest.New(t)
	c := clocktest.New(time.Now())
	s, err := access.New(access.Options{DB: d.DB, RotationOverlap: overlap, Now: c.Now})
	require.NoError(t, err)
	return &testBundle{db: d, store: s, clock: c}
}

// now is the clock's time as the store keeps it.
func (b *testBundle) now() time.Time { return b.clock.Now().UTC().Truncate(time.Microsecond) }

// create makes a token with the scopes, failing the test if it cannot.
func (b *testBundle) create(t *testing.T, name string, scopes ...string) access.Issued {
	t.Helper()
	tok, err := b.store.Create(t.Context(), access.Input{Name: new(name), Scopes: new(scopes)}, "test")
	require.NoError(t, err)
	return tok
}

// works says whether secret authenticates, and as which token.
func (b *testBundle) works(t *testing.T, secret string) (string, bool) {
	t.Helper()
	tok, err := b.store.Authenticate(t.Context(), secret)
	if err != nil {
		require.ErrorIs(t, err, access.ErrInvalidSecret)
		return "", false
	}
	return tok.ID, true
}

// requireWorks requires that secret authenticates, or that it does not.
func (b *testBundle) requireWorks(t *testing.T, secret string, want bool, msgAndArgs ...any) {
	t.Helper()
	_, ok := b.works(t, secret)
	require.Equal(t, want, ok, msgAndArgs...)
}

// fields lists the fields an *invalid.Error names.
func fields(t *testing.T, err error) []string {
	t.Helper()
	e, ok := invalid.As(err)
	require.True(t, ok, "not an *invalid.Error: %v", err)
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func sameTime(t *testing.T, want, got time.Time, msg string) {
	t.Helper()
	require.WithinDuration(t, want, got, 0, msg)
}

func TestScopes(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{
		"connections.read", "connections.write", "hooks.read", "hooks.write",
		"events.write", "calls.write", "imports.read", "imports.write", "tokens.manage",
	}, access.AllScopes, "every scope once, in DESIGN.md's order")

	tok := access.Token{Scopes: []string{access.ScopeHooksRead, access.ScopeTokensManage}}
	require.True(t, tok.Has(access.ScopeHooksRead))
	require.True(t, tok.Has(access.ScopeTokensManage))
	require.False(t, tok.Has(access.ScopeHooksWrite), "read is not write")
	require.False(t, tok.Has("hooks"), "no prefix matching")
	require.False(t, (&access.Token{}).Has(access.ScopeHooksRead))
}

func TestCreateStoresOnlyTheSecretsHash(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	tok, err := b.store.Create(t.Context(), access.Input{
		Name: new("  CRM sync  "), Description: new("pushes contacts"),
		Scopes: new([]string{access.ScopeHooksRead, access.ScopeConnectionsRead, access.ScopeHooksRead}),
	}, "token:tok_admin")
	require.NoError(t, err)

	require.True(t, access.WellFormed(tok.Secret), "issued secret %q", tok.Secret)
	require.Equal(t, "CRM sync", tok.Name, "the name is trimmed")
	require.Equal(t, "pushes contacts", tok.Description)
	require.Equal(t, []string{access.ScopeConnectionsRead, access.ScopeHooksRead}, tok.Scopes, "sorted, each once")
	require.Equal(t, "token:tok_admin", tok.CreatedBy)
	require.Equal(t, tok.Secret[:8]+"****"+tok.Secret[len(tok.Secret)-4:], tok.Hint)
	require.True(t, strings.HasPrefix(tok.ID, "tok_"), tok.ID)
	sameTime(t, b.now(), tok.CreatedAt, "created on the store's clock")
	sameTime(t, b.now(), tok.UpdatedAt, "updated at creation")
	require.Nil(t, tok.LastUsedAt)
	require.Nil(t, tok.Rotation)

	// What is stored: the SHA-256 of the secret and the hint, never the secret.
	var hash []byte
	var hint string
	require.NoError(t, b.db.QueryRowContext(t.Context(), `SELECT secret_hash, secret_hint FROM access_tokens WHERE id = $1`, tok.ID).Scan(&hash, &hint))
	want := sha256.Sum256([]byte(tok.Secret))
	require.Equal(t, want[:], hash)
	require.Equal(t, tok.Hint, hint)

	// As read back and as shown, the token carries no secret.
	got, err := b.store.Get(t.Context(), tok.ID)
	require.NoError(t, err)
	require.Equal(t, tok.Token, got)
	raw, err := json.Marshal(got)
	require.NoError(t, err)
	require.NotContains(t, string(raw), tok.Secret[4:])
	require.NotContains(t, string(raw), `"secret"`)

	// Two tokens never share a secret.
	other := b.create(t, "other", access.ScopeHooksRead)
	require.NotEqual(t, tok.Secret, other.Secret)
	require.NotEqual(t, tok.ID, other.ID)
}

func TestInputIsCheckedFieldByField(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	long := strings.Repeat("é", access.MaxNameLength+1) // runes, not bytes, are counted
	tests := []struct {
		name string
		in   access.Input
		want []string
	}{
		{"nothing", access.Input{}, []string{"name", "scopes"}},
		{"blank name", access.Input{Name: new("   "), Scopes: new([]string{access.ScopeHooksRead})}, []string{"name"}},
		{"long name", access.Input{Name: new(long), Scopes: new([]string{access.ScopeHooksRead})}, []string{"name"}},
		{"long description", access.Input{Name: new("x"), Description: new(strings.Repeat("d", access.MaxDescriptionLength+1)), Scopes: new([]string{access.ScopeHooksRead})}, []string{"description"}},
		{"no scope", access.Input{Name: new("x"), Scopes: new([]string{})}, []string{"scopes"}},
		{"unknown scopes", access.Input{Name: new("x"), Scopes: new([]string{access.ScopeHooksRead, "hooks.admin", "*"})}, []string{"scopes[1]", "scopes[2]"}},
	}
	for _, tt := range tests {
		_, err := b.store.Create(t.Context(), tt.in, "test")
		require.Equal(t, tt.want, fields(t, err), tt.name)
	}
	n, err := b.store.Count(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "no bad input made a token")

	// At the limits, it is accepted.
	_, err = b.store.Create(t.Context(), access.Input{
		Name: new(strings.Repeat("é", access.MaxNameLength)), Description: new(strings.Repeat("d", access.MaxDescriptionLength)),
		Scopes: new(slices.Clone(access.AllScopes)),
	}, "test")
	require.NoError(t, err)
}

func TestUpdateChangesWhatIsGivenAndKeepsTheSecret(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	tok, err := b.store.Create(t.Context(), access.Input{Name: new("svc"), Description: new("first"), Scopes: new([]string{access.ScopeHooksRead})}, "test")
	require.NoError(t, err)

	b.clock.Advance(time.Minute)
	got, err := b.store.Update(t.Context(), tok.ID, access.Input{Name: new(" renamed "), Scopes: new([]string{access.ScopeHooksWrite, access.ScopeHooksRead, access.ScopeHooksWrite})})
	require.NoError(t, err)
	require.Equal(t, "renamed", got.Name)
	require.Equal(t, "first", got.Description, "a field not given stays")
	require.Equal(t, []string{access.ScopeHooksRead, access.ScopeHooksWrite}, got.Scopes)
	require.Equal(t, tok.Hint, got.Hint)
	sameTime(t, tok.CreatedAt, got.CreatedAt, "created_at stays")
	sameTime(t, b.now(), got.UpdatedAt, "updated_at moves")

	got, err = b.store.Update(t.Context(), tok.ID, access.Input{Description: new("")})
	require.NoError(t, err)
	require.Empty(t, got.Description, "a description can be cleared")

	id, ok := b.works(t, tok.Secret)
	require.True(t, ok, "an edit keeps the secret")
	require.Equal(t, tok.ID, id)
	auth, err := b.store.Authenticate(t.Context(), tok.Secret)
	require.NoError(t, err)
	require.Equal(t, []string{access.ScopeHooksRead, access.ScopeHooksWrite}, auth.Scopes, "the secret carries the new scopes at once")

	// Bad input changes nothing; an edit need not name every field, but
	// those it names must be right.
	before, err := b.store.Get(t.Context(), tok.ID)
	require.NoError(t, err)
	b.clock.Advance(time.Minute)
	_, err = b.store.Update(t.Context(), tok.ID, access.Input{Name: new(""), Scopes: new([]string{})})
	require.Equal(t, []string{"name", "scopes"}, fields(t, err))
	after, err := b.store.Get(t.Context(), tok.ID)
	require.NoError(t, err)
	require.Equal(t, before, after)

	_, err = b.store.Update(t.Context(), "tok_nope", access.Input{Name: new("x")})
	require.ErrorIs(t, err, access.ErrNotFound)
}

func TestDeleteStopsTheSecretAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	tok := b.create(t, "svc", access.ScopeHooksRead)
	keep := b.create(t, "keep", access.ScopeHooksRead)
	_, ok := b.works(t, tok.Secret)
	require.True(t, ok)

	require.NoError(t, b.store.Delete(t.Context(), tok.ID))
	_, ok = b.works(t, tok.Secret)
	require.False(t, ok)
	_, err := b.store.Get(t.Context(), tok.ID)
	require.ErrorIs(t, err, access.ErrNotFound)
	require.ErrorIs(t, b.store.Delete(t.Context(), tok.ID), access.ErrNotFound)
	_, ok = b.works(t, keep.Secret)
	require.True(t, ok, "the other token is untouched")
}

func TestListPagesThroughEveryTokenOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	var want []string
	for i := range 5 {
		want = append(want, b.create(t, fmt.Sprint("token ", i), access.ScopeHooksRead).ID)
	}
	slices.Sort(want) // ids sort by creation time (internal/id)

	var got []string
	after := ""
	for page := 0; ; page++ {
		toks, more, err := b.store.List(t.Context(), after, 2)
		require.NoError(t, err)
		require.LessOrEqual(t, len(toks), 2)
		for _, tok := range toks {
			got = append(got, tok.ID)
		}
		if !more {
			require.Equal(t, 2, page, "5 tokens make 3 pages of 2")
			break
		}
		after = toks[len(toks)-1].ID
	}
	require.Equal(t, want, got)

	all, more, err := b.store.List(t.Context(), "", 5)
	require.NoError(t, err)
	require.False(t, more, "exactly a page's worth leaves none to follow")
	require.Len(t, all, 5)
	n, err := b.store.Count(t.Context())
	require.NoError(t, err)
	require.Equal(t, 5, n)
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	tok := b.create(t, "svc", access.ScopeImportsWrite, access.ScopeImportsRead)

	got, err := b.store.Authenticate(t.Context(), tok.Secret)
	require.NoError(t, err)
	require.Equal(t, tok.ID, got.ID)
	require.Equal(t, "svc", got.Name)
	require.Equal(t, []string{access.ScopeImportsRead, access.ScopeImportsWrite}, got.Scopes)
	require.True(t, got.Has(access.ScopeImportsWrite))
	require.False(t, got.Has(access.ScopeTokensManage))

	// A deleted token's secret is well formed but no one's: refused all
	// the same, with the one error that says nothing of why.
	gone := b.create(t, "gone", access.ScopeHooksRead)
	require.NoError(t, b.store.Delete(t.Context(), gone.ID))
	for _, s := range []string{"", "lsn_", tok.Secret + "x", tok.Secret[:len(tok.Secret)-1], strings.ToUpper(tok.Secret), gone.Secret, " " + tok.Secret} {
		_, err := b.store.Authenticate(t.Context(), s)
		require.ErrorIs(t, err, access.ErrInvalidSecret, "%q", s)
	}
}

func TestMalformedSecretsAreRefusedWithoutTheDatabase(t *testing.T) {
	t.Parallel()
	// A store whose database is closed: a look-up would fail with
	// another error than ErrInvalidSecret.
	closed := dbtest.New(t)
	s, err := access.New(access.Options{DB: closed.DB})
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	b := setup(t, 0)
	issued := b.create(t, "svc", access.ScopeHooksRead).Secret
	mistyped := issued[:10] + string(flip(issued[10])) + issued[11:]
	for _, secret := range []string{"", "Bearer " + issued, "lsn_short", mistyped, strings.Replace(issued, "lsn_", "lsk_", 1)} {
		_, err := s.Authenticate(t.Context(), secret)
		require.ErrorIs(t, err, access.ErrInvalidSecret, "%q", secret)
	}
}

// last_used_at moves at most once a minute, so that checking a token
// nearly never writes, even across processes that each keep their own
// memory of what they wrote.
func TestLastUsedIsWrittenAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	tok := b.create(t, "svc", access.ScopeHooksRead)
	lastUsed := func() time.Time {
		t.Helper()
		got, err := b.store.Get(t.Context(), tok.ID)
		require.NoError(t, err)
		require.NotNil(t, got.LastUsedAt, "never used")
		return *got.LastUsedAt
	}

	first := b.now()
	_, err := b.store.Authenticate(t.Context(), tok.Secret)
	require.NoError(t, err)
	sameTime(t, first, lastUsed(), "the first use is written")

	b.clock.Advance(59 * time.Second)
	for range 3 {
		_, err := b.store.Authenticate(t.Context(), tok.Secret)
		require.NoError(t, err)
	}
	sameTime(t, first, lastUsed(), "no write within the minute")

	// Another process, which has written nothing yet, is held back by the
	// database's own condition.
	other, err := access.New(access.Options{DB: b.db.DB, Now: b.clock.Now})
	require.NoError(t, err)
	got, err := other.Authenticate(t.Context(), tok.Secret)
	require.NoError(t, err)
	sameTime(t, first, *got.LastUsedAt, "authenticating shows the last use before this one")
	sameTime(t, first, lastUsed(), "no write within the minute from another process either")

	b.clock.Advance(time.Second)
	_, err = b.store.Authenticate(t.Context(), tok.Secret)
	require.NoError(t, err)
	sameTime(t, b.now(), lastUsed(), "a minute on, the use is written")
}

// flip changes a base62 digit into another.
func flip(c byte) byte {
	if c == 'a' {
		return 'b'
	}
	return 'a'
}
