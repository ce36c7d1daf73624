package secret_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/secret"
)

// A header set is sealed as one value: neither names nor values show, it
// opens only in its own place, and the plaintext form of older rows opens
// as it is.
func TestHeadersSealAsOneSetBoundToTheirPlace(t *testing.T) {
	t.Parallel()
	r, err := secret.NewRing([][]byte{newKey(t)})
	require.NoError(t, err)
	h := map[string]string{"X-Api-Key": "sk_live_4eC39HqLyjWD", "Version": "2021-07-28"}

	stored, err := r.SealHeaders(h, "connection:c1:headers")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(stored, `"v1.`), "a JSON string: %s", stored)
	for _, s := range []string{"X-Api-Key", "sk_live_4eC39HqLyjWD", "Version", "2021-07-28"} {
		require.NotContains(t, stored, s)
	}
	opened, err := r.OpenHeaders(stored, "connection:c1:headers")
	require.NoError(t, err)
	require.Equal(t, h, opened)

	_, err = r.OpenHeaders(stored, "connection:c2:headers")
	require.ErrorIs(t, err, secret.ErrCorrupt, "another row's headers do not open here")
	_, err = r.OpenHeaders(stored, "hook:c1:headers")
	require.ErrorIs(t, err, secret.ErrCorrupt, "nor another table's")

	plain, err := r.OpenHeaders(`{"X-Api-Key": "old"}`, "connection:c1:headers")
	require.NoError(t, err, "rows from before sealing still read")
	require.Equal(t, map[string]string{"X-Api-Key": "old"}, plain)

	none, err := r.SealHeaders(nil, "connection:c1:headers")
	require.NoError(t, err)
	require.Equal(t, "{}", none)
	for _, empty := range []string{"", "{}", "null"} {
		got, err := r.OpenHeaders(empty, "connection:c1:headers")
		require.NoError(t, err)
		require.NotNil(t, got)
		require.Empty(t, got)
	}
}

func TestMaskHeadersShowsOnlyTheNonSecretList(t *testing.T) {
	t.Parallel()
	got := secret.MaskHeaders(map[string]string{
		"X-Api-Key": "sk_live_4eC39HqLyjWD", "X-Tenant": "tenant-secret-1", "x-short": "abc",
		"Version": "2021-07-28", "content-type": "application/json", "Accept": "*/*",
		"Accept-Language": "de", "Content-Language": "fr",
	})
	require.Equal(t, map[string]string{
		"X-Api-Key": "s******D", "X-Tenant": "t******1", "x-short": "******",
		"Version": "2021-07-28", "content-type": "application/json", "Accept": "*/*",
		"Accept-Language": "de", "Content-Language": "fr",
	}, got)
	require.NotNil(t, secret.MaskHeaders(nil))
}

func TestKeepMaskedHeadersKeepsWhatAnAnswerShowed(t *testing.T) {
	t.Parallel()
	stored := map[string]string{"X-Api-Key": "sk_live_4eC39HqLyjWD", "X-Pin": "1234", "Version": "2021-07-28", "X-Gone": "value-of-gone"}
	next := secret.KeepMaskedHeaders(stored, map[string]string{
		"x-api-key": "s******D", // the mask, in another case: kept
		"X-Pin":     "******",   // the mask of a short secret: kept
		"Version":   "2022-01-01",
		"X-New":     "n******w", // looks masked, but nothing was stored under it
	})
	require.Equal(t, map[string]string{
		"x-api-key": "sk_live_4eC39HqLyjWD", "X-Pin": "1234", "Version": "2022-01-01", "X-New": "n******w",
	}, next, "masks keep stored values, new values replace them, left-out headers go")

	replaced := secret.KeepMaskedHeaders(stored, map[string]string{"X-Api-Key": "sk_live_NEW"})
	require.Equal(t, map[string]string{"X-Api-Key": "sk_live_NEW"}, replaced)
}
