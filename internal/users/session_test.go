package users_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/users"
)

func TestSignInStartsANewSession(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.create(t, "ada@example.com", users.RoleAdmin)
	before := b.signIn(t, "ada@example.com")
	// The UI ends the session it was sent with the sign-in form.
	require.NoError(t, b.svc.SignOut(t.Context(), before.Cookie))
	after := b.signIn(t, "ada@example.com")
	require.NotEqual(t, before.ID, after.ID)
	require.NotEqual(t, before.Cookie, after.Cookie)
	require.NotEqual(t, before.CSRF, after.CSRF)
	require.False(t, b.works(t, before.Cookie), "a cookie from before sign-in is not valid after")
	require.True(t, b.works(t, after.Cookie))
	// Nor does a cookie made of the old id and the new secret.
	_, secret, _ := strings.Cut(after.Cookie, ".")
	require.False(t, b.works(t, before.ID+"."+secret))
}

func TestSessionCookieAndCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ada := b.create(t, "ada@example.com", users.RoleAdmin)
	ss := b.signIn(t, "ada@example.com")
	sid, secret, ok := strings.Cut(ss.Cookie, ".")
	require.True(t, ok)
	require.Equal(t, ss.ID, sid)
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	require.NoError(t, err)
	require.Len(t, raw, 32)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("csrf"))
	require.Equal(t, base64.RawURLEncoding.EncodeToString(m.Sum(nil)), ss.CSRF)

	u, got, err := b.svc.Authenticate(t.Context(), ss.Cookie)
	require.NoError(t, err)
	require.Equal(t, ada.ID, u.ID)
	require.Equal(t, ss.CSRF, got.CSRF, "Authenticate gives the same form token")
	require.Empty(t, got.Cookie, "the cookie is not known after sign-in")
	require.True(t, got.ValidCSRF(ss.CSRF))
	require.False(t, got.ValidCSRF(""))
	require.False(t, got.ValidCSRF(ss.CSRF[:len(ss.CSRF)-1]))
	require.False(t, users.Session{}.ValidCSRF(""), "no session, no valid token")

	for _, bad := range []string{"", ".", sid, sid + ".", sid + "." + strings.Repeat("A", 43), "ses_nope." + secret, secret + "." + sid} {
		require.False(t, b.works(t, bad), "%q", bad)
	}
	require.True(t, b.works(t, ss.Cookie), "bad guesses leave the session alone")

	require.NoError(t, b.svc.SignOut(t.Context(), sid+"."+strings.Repeat("A", 43)))
	require.True(t, b.works(t, ss.Cookie), "signing out needs the secret, not just the id")
	require.NoError(t, b.svc.SignOut(t.Context(), ss.Cookie))
	require.False(t, b.works(t, ss.Cookie))
	require.Empty(t, b.db.Strings(t, `SELECT id FROM user_sessions`), "sign-out deletes the row")
	require.NoError(t, b.svc.SignOut(t.Context(), ss.Cookie), "signing out twice is no error")
}

func TestSessionEndsWhenIdle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.create(t, "ada@example.com", users.RoleAdmin)
	ss := b.signIn(t, "ada@example.com")
	b.clock.Advance(users.DefaultSessionIdle - time.Second)
	_, got, err := b.svc.Authenticate(t.Context(), ss.Cookie)
	require.NoError(t, err, "just before the idle lifetime")
	require.Equal(t, b.clock.Now().UTC().Truncate(time.Microsecond), got.LastSeenAt, "use slides the idle lifetime")
	b.clock.Advance(users.DefaultSessionIdle - time.Second)
	require.True(t, b.works(t, ss.Cookie), "idle less than the idle lifetime since last seen")
	b.clock.Advance(users.DefaultSessionIdle)
	require.False(t, b.works(t, ss.Cookie), "idle for the idle lifetime")
	require.Empty(t, b.db.Strings(t, `SELECT id FROM user_sessions`), "an ended session's row goes")
}

func TestSessionTouchIsWrittenAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.create(t, "ada@example.com", users.RoleAdmin)
	ss := b.signIn(t, "ada@example.com")
	b.clock.Advance(30 * time.Second)
	_, got, err := b.svc.Authenticate(t.Context(), ss.Cookie)
	require.NoError(t, err)
	require.Equal(t, ss.LastSeenAt, got.LastSeenAt, "within a minute, nothing is written")
	b.clock.Advance(30 * time.Second)
	_, got, err = b.svc.Authenticate(t.Context(), ss.Cookie)
	require.NoError(t, err)
	require.Equal(t, ss.LastSeenAt.Add(time.Minute), got.LastSeenAt)
}

func TestSessionEndsAtItsAbsoluteLifetime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.create(t, "ada@example.com", users.RoleAdmin)
	ss := b.signIn(t, "ada@example.com")
	require.Equal(t, ss.CreatedAt.Add(users.DefaultSessionLifetime), ss.ExpiresAt)
	// Used every few hours, it is never idle, and ends all the same.
	step := users.DefaultSessionIdle / 2
	for elapsed := step; elapsed < users.DefaultSessionLifetime; elapsed += step {
		b.clock.Advance(step)
		require.True(t, b.works(t, ss.Cookie), "after %s", elapsed)
	}
	b.clock.Advance(users.DefaultSessionLifetime - b.clock.Now().Sub(ss.CreatedAt))
	require.False(t, b.works(t, ss.Cookie), "at the absolute lifetime")
}

func TestDisablingAUserEndsItsSessionsAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.create(t, "ada@example.com", users.RoleAdmin)
	bob := b.create(t, "bob@example.com", users.RoleMember)
	one, two := b.signIn(t, "bob@example.com"), b.signIn(t, "bob@example.com")
	ada := b.signIn(t, "ada@example.com")
	reset, err := b.svc.ResetLink(t.Context(), bob.ID)
	require.NoError(t, err)
	u, err := b.svc.Update(t.Context(), bob.ID, users.Change{Disabled: new(true)})
	require.NoError(t, err)
	require.True(t, u.Disabled)
	require.False(t, b.works(t, one.Cookie))
	require.False(t, b.works(t, two.Cookie))
	require.True(t, b.works(t, ada.Cookie), "other users' sessions stay")
	_, _, err = b.svc.SignIn(t.Context(), "bob@example.com", password, "192.0.2.1")
	require.ErrorIs(t, err, users.ErrBadCredentials, "a disabled user cannot sign in")
	_, err = b.svc.StartSession(t.Context(), bob.ID)
	require.ErrorIs(t, err, users.ErrDisabled)
	_, err = b.svc.Redeem(t.Context(), reset, users.Input{Password: "another long password"})
	require.ErrorIs(t, err, users.ErrLinkInvalid, "nor use a link")

	// Even a session that started as the user was disabled does not open.
	_, err = b.svc.Update(t.Context(), bob.ID, users.Change{Disabled: new(false)})
	require.NoError(t, err)
	three := b.signIn(t, "bob@example.com")
	_, err = b.db.ExecContext(t.Context(), `UPDATE users SET disabled = $1 WHERE id = $2`, true, bob.ID)
	require.NoError(t, err)
	require.False(t, b.works(t, three.Cookie), "Authenticate checks the user, not only the row")
}

func TestSetPasswordEndsSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ada := b.create(t, "ada@example.com", users.RoleAdmin)
	ss := b.signIn(t, "ada@example.com")
	require.Equal(t, []string{"password"}, fields(t, b.svc.SetPassword(t.Context(), ada.ID, "short")))
	require.True(t, b.works(t, ss.Cookie), "a refused password changes nothing")
	require.NoError(t, b.svc.SetPassword(t.Context(), ada.ID, "another long password"))
	require.False(t, b.works(t, ss.Cookie))
	_, _, err := b.svc.SignIn(t.Context(), "ada@example.com", password, "192.0.2.1")
	require.ErrorIs(t, err, users.ErrBadCredentials, "the old password is gone")
	_, ss, err = b.svc.SignIn(t.Context(), "ada@example.com", "another long password", "192.0.2.1")
	require.NoError(t, err)
	require.ErrorIs(t, b.svc.SetPassword(t.Context(), "usr_nope", "another long password"), users.ErrNotFound)

	// A reset link does the same.
	token, err := b.svc.ResetLink(t.Context(), ada.ID)
	require.NoError(t, err)
	_, err = b.svc.Redeem(t.Context(), token, users.Input{Password: "a third long password"})
	require.NoError(t, err)
	require.False(t, b.works(t, ss.Cookie))
	_, _, err = b.svc.SignIn(t.Context(), "ada@example.com", "a third long password", "192.0.2.1")
	require.NoError(t, err)
}

func TestSweepDeletesWhatCanNoLongerBeUsed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ada := b.create(t, "ada@example.com", users.RoleAdmin)
	old := b.signIn(t, "ada@example.com")
	_, err := b.svc.ResetLink(t.Context(), ada.ID)
	require.NoError(t, err)
	_, _, _ = b.svc.SignIn(t.Context(), "ada@example.com", "a wrong password guess", "192.0.2.1")
	b.clock.Advance(users.DefaultLinkLifetime)
	fresh := b.signIn(t, "ada@example.com")
	require.NoError(t, b.svc.Sweep(t.Context()))
	require.Equal(t, []string{fresh.ID}, b.db.Strings(t, `SELECT id FROM user_sessions`), "the idle one went: %s", old.ID)
	require.Empty(t, b.db.Strings(t, `SELECT purpose FROM user_links`))
	require.Empty(t, b.db.Strings(t, `SELECT key FROM sign_in_failures`))
	require.True(t, b.works(t, fresh.Cookie))
}
