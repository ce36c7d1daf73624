package apptest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
)

// VerifyByHand checks a Standard Webhooks signature without hooks.Verify:
// HMAC-SHA256 over "id.timestamp.body" with the base64-decoded whsec_ key,
// base64 in a "v1," entry. It reports which of the space-separated entries
// matched.
func VerifyByHand(t *testing.T, whsec string, h http.Header, body []byte) bool {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(whsec, "whsec_"))
	require.NoError(t, err)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if sig == want {
			return true
		}
	}
	return false
}

// VerifyByReference checks a request with the Standard Webhooks project's
// own Go verifier, the one a new user of Liaison would reach for: it
// decodes the whsec_ secret, checks the timestamp is within its tolerance
// and accepts any matching v1 entry.
func VerifyByReference(t *testing.T, whsec string, h http.Header, body []byte) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(whsec)
	require.NoError(t, err)
	return wh.Verify(body, h)
}
