package secret_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/secret"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k, err := secret.NewKey()
	require.NoError(t, err)
	return k
}

// newRing is a ring of the keys, the first of them sealing.
func newRing(t *testing.T, keys ...[]byte) *secret.Ring {
	t.Helper()
	r, err := secret.NewRing(keys)
	require.NoError(t, err)
	return r
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	r := newRing(t, newKey(t))

	sealed, err := r.Seal([]byte("refresh-token-value"), []byte("connection:c1:refresh"))
	require.NoError(t, err)
	require.NotContains(t, sealed, "refresh-token-value")
	require.True(t, strings.HasPrefix(sealed, "v1."), sealed)

	plain, err := r.Open(sealed, []byte("connection:c1:refresh"))
	require.NoError(t, err)
	require.Equal(t, "refresh-token-value", string(plain))

	again, err := r.Seal([]byte("refresh-token-value"), []byte("connection:c1:refresh"))
	require.NoError(t, err)
	require.NotEqual(t, sealed, again, "a fresh nonce per value")
}

func TestTamperedAndMisplaced(t *testing.T) {
	t.Parallel()
	r := newRing(t, newKey(t))
	sealed, err := r.Seal([]byte("s3cr3t"), []byte("a"))
	require.NoError(t, err)

	// Flip one character of the ciphertext.
	b := []byte(sealed)
	i := len(b) - 5
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	_, err = r.Open(string(b), []byte("a"))
	require.ErrorIs(t, err, secret.ErrCorrupt)

	// The right ciphertext in the wrong place.
	_, err = r.Open(sealed, []byte("b"))
	require.ErrorIs(t, err, secret.ErrCorrupt)

	for _, junk := range []string{"", "v1", "v2.abc.def", "v1." + secret.KeyID(newKey(t)) + ".AAAA", "plaintext"} {
		_, err = r.Open(junk, []byte("a"))
		require.Error(t, err, "junk %q opened", junk)
	}
}

func TestWrongKey(t *testing.T) {
	t.Parallel()
	a := newRing(t, newKey(t))
	b := newRing(t, newKey(t))
	sealed, err := a.Seal([]byte("x"), nil)
	require.NoError(t, err)
	_, err = b.Open(sealed, nil)
	require.ErrorIs(t, err, secret.ErrUnknownKey)
	require.False(t, errors.Is(err, secret.ErrCorrupt))
}

func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKeyB := newKey(t), newKey(t)
	before := newRing(t, oldKey)
	sealed, err := before.Seal([]byte("client-secret"), []byte("aad"))
	require.NoError(t, err)

	after := newRing(t, newKeyB, oldKey)
	plain, err := after.Open(sealed, []byte("aad"))
	require.NoError(t, err, "old ciphertexts still open after a rotation")
	require.Equal(t, "client-secret", string(plain))
	require.True(t, after.NeedsReseal(sealed))

	resealed, err := after.Seal(plain, []byte("aad"))
	require.NoError(t, err)
	require.False(t, after.NeedsReseal(resealed))
	require.Contains(t, resealed, secret.KeyID(newKeyB))

	// Once the old key is dropped, values it sealed no longer open.
	onlyNew := newRing(t, newKeyB)
	_, err = onlyNew.Open(sealed, []byte("aad"))
	require.ErrorIs(t, err, secret.ErrUnknownKey)
}

func TestNewRingRejectsBadKeys(t *testing.T) {
	t.Parallel()
	_, err := secret.NewRing(nil)
	require.Error(t, err)
	_, err = secret.NewRing([][]byte{make([]byte, 16)})
	require.ErrorContains(t, err, "key 1 is 16 bytes")
	k := newKey(t)
	_, err = secret.NewRing([][]byte{k, bytes.Clone(k)})
	require.ErrorContains(t, err, "twice")
}

func TestKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "liaison.keys")
	keys, created, err := secret.LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.True(t, created)
	require.Len(t, keys, 1)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	again, created, err := secret.LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, keys, again)

	require.NoError(t, os.WriteFile(path, []byte("nonsense\n"), 0o600))
	_, _, err = secret.LoadOrCreateKeyFile(path)
	require.ErrorContains(t, err, "line 1")
}

func TestMask(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                 "",
		"abc":              "******",
		"5bd2f1e8aa0c3b3C": "5******C",
	} {
		require.Equal(t, want, secret.Mask(in), "Mask(%q)", in)
	}
}
