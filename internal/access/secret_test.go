package access_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/internal/access"
)

// A secret is "lsn_", 43 base62 characters of randomness and 6 of their
// CRC-32: secret scanners find it by its prefix, and a mistyped or made-up
// one is refused by its checksum.
func TestSecretsAreWellFormedAndMistakesAreCaught(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	shape := regexp.MustCompile(`^lsn_[0-9A-Za-z]{49}$`)
	secret := b.create(t, "svc", access.ScopeHooksRead).Secret
	require.Regexp(t, shape, secret)
	require.True(t, access.WellFormed(secret))

	// Every single-character typo, anywhere after the prefix, breaks the
	// checksum (CRC-32 catches every error this short).
	for i := len("lsn_"); i < len(secret); i++ {
		typo := secret[:i] + string(flip(secret[i])) + secret[i+1:]
		require.False(t, access.WellFormed(typo), "typo at %d: %q", i, typo)
	}
	// Two neighbours swapped, where they differ.
	for i := len("lsn_"); i+1 < len(secret); i++ {
		if secret[i] != secret[i+1] {
			swapped := secret[:i] + string(secret[i+1]) + string(secret[i]) + secret[i+2:]
			require.False(t, access.WellFormed(swapped), "swap at %d", i)
		}
	}

	body := strings.TrimPrefix(secret, "lsn_")
	for name, s := range map[string]string{
		"empty":               "",
		"prefix only":         "lsn_",
		"other prefix":        "ghp_" + body,
		"no prefix":           body,
		"upper-case prefix":   "LSN_" + body,
		"one character short": secret[:len(secret)-1],
		"one character more":  secret + "0",
		"not base62":          "lsn_" + body[:20] + "-" + body[21:],
		"made up":             "lsn_" + strings.Repeat("0", 49),
		"surrounding space":   " " + secret,
		"as a header":         "Bearer " + secret,
	} {
		require.False(t, access.WellFormed(s), "%s: %q", name, s)
	}
}
