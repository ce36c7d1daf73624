package hooks

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The example published with the Standard Webhooks specification.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignSpecVector(t *testing.T) {
	t.Parallel()

	s, err := NewSigner(specSecret)
	require.NoError(t, err)
	ts := time.Unix(specTimestamp, 0)
	require.Equal(t, specSignature, s.Sign(specID, ts, []byte(specBody)))

	h := http.Header{}
	s.Apply(h, specID, ts, []byte(specBody))
	require.Equal(t, specID, h.Get("webhook-id"))
	require.Equal(t, "1614265330", h.Get("webhook-timestamp"))
	require.Equal(t, specSignature, h.Get("webhook-signature"))
	require.NoError(t, Verify(specSecret, h, []byte(specBody), ts.Add(time.Minute), 0))
}

func TestCanonicalHeaderNames(t *testing.T) {
	t.Parallel()

	require.Equal(t, http.CanonicalHeaderKey(HeaderID), canonicalID)
	require.Equal(t, http.CanonicalHeaderKey(HeaderTimestamp), canonicalTimestamp)
	require.Equal(t, http.CanonicalHeaderKey(HeaderSignature), canonicalSignature)
}

func TestSignRotation(t *testing.T) {
	t.Parallel()

	newSecret, err := NewSecret()
	require.NoError(t, err)
	s, err := NewSigner(newSecret, specSecret)
	require.NoError(t, err)

	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"id":"evt_1","type":"email.opened"}`)
	h := http.Header{}
	s.Apply(h, "dlv_1", now, body)

	sigs := strings.Fields(h.Get(HeaderSignature))
	require.Len(t, sigs, 2)
	require.NoError(t, Verify(newSecret, h, body, now, 0), "the new secret verifies")
	require.NoError(t, Verify(specSecret, h, body, now, 0), "the old secret still verifies")

	other, err := NewSecret()
	require.NoError(t, err)
	require.ErrorIs(t, Verify(other, h, body, now, 0), ErrNoMatchingSignature)

	// A receiver holding either secret verifies the single signature of that secret alone.
	for i, secret := range []string{newSecret, specSecret} {
		one := h.Clone()
		one.Set(HeaderSignature, sigs[i])
		require.NoError(t, Verify(secret, one, body, now, 0))
	}
}

func TestSignDuplicateSecretSignsOnce(t *testing.T) {
	t.Parallel()

	s, err := NewSigner(specSecret, specSecret)
	require.NoError(t, err)
	require.Equal(t, specSignature, s.Sign(specID, time.Unix(specTimestamp, 0), []byte(specBody)))
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()

	s, err := NewSigner(specSecret)
	require.NoError(t, err)
	ts := time.Unix(specTimestamp, 0)
	body := []byte(specBody)
	signed := http.Header{}
	s.Apply(signed, specID, ts, body)

	with := func(name, value string) http.Header {
		h := signed.Clone()
		if value == "" {
			h.Del(name)
		} else {
			h.Set(name, value)
		}
		return h
	}
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{"tampered body", signed, []byte(`{"test": 2432232315}`), ts, ErrNoMatchingSignature},
		{"tampered id", with(HeaderID, "msg_other"), body, ts, ErrNoMatchingSignature},
		{"tampered timestamp", with(HeaderTimestamp, "1614265331"), body, ts, ErrNoMatchingSignature},
		{"old timestamp", signed, body, ts.Add(5*time.Minute + time.Second), ErrInvalidTimestamp},
		{"future timestamp", signed, body, ts.Add(-5*time.Minute - time.Second), ErrInvalidTimestamp},
		{"timestamp not a number", with(HeaderTimestamp, "yesterday"), body, ts, ErrInvalidTimestamp},
		{"missing id", with(HeaderID, ""), body, ts, ErrMissingHeader},
		{"missing timestamp", with(HeaderTimestamp, ""), body, ts, ErrMissingHeader},
		{"missing signature", with(HeaderSignature, ""), body, ts, ErrMissingHeader},
		{"other version only", with(HeaderSignature, "v2,"+strings.TrimPrefix(specSignature, "v1,")), body, ts, ErrNoMatchingSignature},
		{"truncated signature", with(HeaderSignature, specSignature[:20]), body, ts, ErrNoMatchingSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.ErrorIs(t, Verify(specSecret, tt.header, tt.body, tt.now, 0), tt.want)
		})
	}

	t.Run("within tolerance", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, Verify(specSecret, signed, body, ts.Add(5*time.Minute), 0))
		require.NoError(t, Verify(specSecret, signed, body, ts.Add(-5*time.Minute), 0))
		require.ErrorIs(t, Verify(specSecret, signed, body, ts.Add(2*time.Minute), time.Minute), ErrInvalidTimestamp)
	})

	t.Run("any listed signature matches", func(t *testing.T) {
		t.Parallel()
		h := with(HeaderSignature, "v1,bm9wZQ== v1a,xyz "+specSignature)
		require.NoError(t, Verify(specSecret, h, body, ts, 0))
	})
}

func TestNewSecret(t *testing.T) {
	t.Parallel()

	a, err := NewSecret()
	require.NoError(t, err)
	b, err := NewSecret()
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, "whsec_"))

	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	require.NoError(t, err)
	require.Len(t, key, 32)
	_, err = NewSigner(a)
	require.NoError(t, err)
}

func TestNewSignerRejectsBadSecrets(t *testing.T) {
	t.Parallel()

	short := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 23))
	long := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 65))
	tests := []struct {
		name, secret, want string
	}{
		{"no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", `secrets[1]: invalid secret: must start with "whsec_"`},
		{"not base64", "whsec_MfKQ9r8GKYqrTwjUPD8I!PZIo2LaLaSw", "secrets[1]: invalid secret: text after \"whsec_\" is not standard base64"},
		{"too short", short, "secrets[1]: invalid secret: key is 23 bytes; want 24 to 64"},
		{"too long", long, "secrets[1]: invalid secret: key is 65 bytes; want 24 to 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewSigner(specSecret, tt.secret)
			require.ErrorIs(t, err, ErrInvalidSecret)
			require.ErrorContains(t, err, tt.want)
			secretBody := strings.TrimPrefix(tt.secret, "whsec_")
			require.NotContains(t, err.Error(), secretBody[:16], "the error must not echo the secret")
		})
	}

	_, err := NewSigner()
	require.ErrorIs(t, err, ErrInvalidSecret)
	require.ErrorIs(t, Verify("nope", http.Header{}, nil, time.Now(), 0), ErrInvalidSecret)
}

func TestSignConcurrent(t *testing.T) {
	t.Parallel()

	s, err := NewSigner(specSecret)
	require.NoError(t, err)
	ts := time.Unix(specTimestamp, 0)
	done := make(chan string)
	for range 8 {
		go func() {
			var last string
			for range 200 {
				last = s.Sign(specID, ts, []byte(specBody))
			}
			done <- last
		}()
	}
	for range 8 {
		require.Equal(t, specSignature, <-done)
	}
}

func BenchmarkSign(b *testing.B) {
	s, err := NewSigner(specSecret)
	require.NoError(b, err)
	ts := time.Unix(specTimestamp, 0)
	body := bytes.Repeat([]byte(`{"k":"v"},`), 103)[:1024]
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s.Sign(specID, ts, body)
	}
}

func BenchmarkSignRotation(b *testing.B) {
	newSecret, err := NewSecret()
	require.NoError(b, err)
	s, err := NewSigner(newSecret, specSecret)
	require.NoError(b, err)
	ts := time.Unix(specTimestamp, 0)
	body := bytes.Repeat([]byte("x"), 1024)
	b.ReportAllocs()
	for b.Loop() {
		s.Sign(specID, ts, body)
	}
}
