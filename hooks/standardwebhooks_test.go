package hooks_test

import (
	"net/http"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/internal/apptest"
)

func TestStandardWebhooksSpecVector(t *testing.T) {
	t.Parallel()
	const (
		whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id    = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts    = "1614265330"
		body  = `{"test": 2432232314}`
		want  = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", want)
	require.True(t, apptest.VerifyByHand(t, whsec, h, []byte(body)), "the hand-made HMAC reproduces the spec's vector")
	require.NoError(t, hooks.Verify(whsec, h, []byte(body), time.Unix(1614265330, 0), 0))
	ref, err := standardwebhooks.NewWebhook(whsec)
	require.NoError(t, err)
	require.NoError(t, ref.VerifyIgnoringTimestamp([]byte(body), h), "the reference verifier accepts the vector")

	signer, err := hooks.NewSigner(whsec)
	require.NoError(t, err)
	require.Equal(t, want, signer.Sign(id, time.Unix(1614265330, 0), []byte(body)))
	refSig, err := ref.Sign(id, time.Unix(1614265330, 0), []byte(body))
	require.NoError(t, err)
	require.Equal(t, refSig, signer.Sign(id, time.Unix(1614265330, 0), []byte(body)), "Liaison signs as the reference does")
}
