package hooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Event webhooks are signed per Standard Webhooks (https://www.standardwebhooks.com): the
// signature is HMAC-SHA256 over "id.timestamp.body" with the key base64-encoded after the
// "whsec_" prefix of the secret, sent base64-encoded as "v1,<signature>". While a secret is
// being rotated the old and the new one both sign, space-separated, so receivers can switch
// at their own pace.

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Canonical forms, so that Apply does not canonicalise (and allocate) on every call.
const (
	canonicalID        = "Webhook-Id"
	canonicalTimestamp = "Webhook-Timestamp"
	canonicalSignature = "Webhook-Signature"
)

// DefaultTolerance is how far a webhook-timestamp may be from the receiver's clock, either
// way, before Verify rejects it as a possible replay.
const DefaultTolerance = 5 * time.Minute

const (
	secretPrefix = "whsec_"
	// A new key is 32 bytes, the HMAC-SHA256 output length: RFC 2104 discourages keys
	// shorter than that. 24 to 64 bytes are accepted, as Standard Webhooks recommends.
	newKeyLen = 32
	minKeyLen = 24
	maxKeyLen = 64
	// len("v1,") + base64 of 32 bytes
	signatureLen = 3 + 44
)

var (
	// ErrInvalidSecret is wrapped by every error about a malformed secret.
	ErrInvalidSecret = errors.New("invalid secret")
	// ErrMissingHeader, ErrInvalidTimestamp and ErrNoMatchingSignature are Verify's answers.
	ErrMissingHeader       = errors.New("missing header")
	ErrInvalidTimestamp    = errors.New("invalid timestamp")
	ErrNoMatchingSignature = errors.New("no matching signature")
)

// NewSecret returns a fresh endpoint secret: "whsec_" and the base64 of 32 random bytes.
func NewSecret() (string, error) {
	key := make([]byte, newKeyLen)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generating webhook secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// decodeSecret returns the HMAC key of a secret. Its errors never quote the secret.
func decodeSecret(secret string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: must start with %q", ErrInvalidSecret, secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: text after %q is not standard base64 (%v)", ErrInvalidSecret, secretPrefix, err)
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return nil, fmt.Errorf("%w: key is %d bytes; want %d to %d", ErrInvalidSecret, len(key), minKeyLen, maxKeyLen)
	}
	return key, nil
}

// Signer signs webhook messages with one or more secrets. Make one with NewSigner. It is safe
// for concurrent use, and worth keeping per endpoint: it reuses its HMAC state between
// messages.
type Signer struct {
	keys [][]byte
	// pool holds *macState. A fresh HMAC costs five allocations and two hash blocks; a
	// pooled one is reset from its saved inner and outer state.
	pool sync.Pool
}

type macState struct {
	macs   []hash.Hash // one per key, in the Signer's order
	prefix []byte      // "id.timestamp."
	sum    [sha256.Size]byte
	enc    [44]byte // base64 of sum
}

// NewSigner takes the active secrets, newest first; more than one while a rotation overlaps.
// A secret given twice signs once. Errors name the secret by position ("secrets[1]").
func NewSigner(secrets ...string) (*Signer, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secrets", ErrInvalidSecret)
	}
	s := &Signer{keys: make([][]byte, 0, len(secrets))}
	seen := make(map[string]bool, len(secrets))
	for i, secret := range secrets {
		key, err := decodeSecret(secret)
		if err != nil {
			return nil, &FieldError{Field: "secrets[" + strconv.Itoa(i) + "]", Err: err}
		}
		if seen[string(key)] {
			continue
		}
		seen[string(key)] = true
		s.keys = append(s.keys, key)
	}
	s.pool.New = func() any {
		st := &macState{macs: make([]hash.Hash, len(s.keys))}
		for i, key := range s.keys {
			st.macs[i] = hmac.New(sha256.New, key)
		}
		return st
	}
	return s, nil
}

// Sign returns the webhook-signature value for a message: "v1,<base64>" per secret,
// space-separated. msgID is the delivery id, the same for every attempt; ts is the time of
// this attempt, sent as unix seconds.
func (s *Signer) Sign(msgID string, ts time.Time, body []byte) string {
	st := s.pool.Get().(*macState)
	defer s.pool.Put(st)
	st.prefix = append(st.prefix[:0], msgID...)
	st.prefix = append(st.prefix, '.')
	st.prefix = strconv.AppendInt(st.prefix, ts.Unix(), 10)
	st.prefix = append(st.prefix, '.')

	var out strings.Builder
	out.Grow(len(st.macs)*(signatureLen+1) - 1)
	for i, mac := range st.macs {
		mac.Reset()
		mac.Write(st.prefix)
		mac.Write(body)
		sum := mac.Sum(st.sum[:0])
		if i > 0 {
			out.WriteByte(' ')
		}
		out.WriteString("v1,")
		out.Write(base64.StdEncoding.AppendEncode(st.enc[:0], sum))
	}
	return out.String()
}

// Apply sets webhook-id, webhook-timestamp and webhook-signature on h.
func (s *Signer) Apply(h http.Header, msgID string, ts time.Time, body []byte) {
	h[canonicalID] = []string{msgID}
	h[canonicalTimestamp] = []string{strconv.FormatInt(ts.Unix(), 10)}
	h[canonicalSignature] = []string{s.Sign(msgID, ts, body)}
}

// Verify checks a signed webhook as a receiver does, and documents what receivers must do:
// all three headers present, a timestamp within tolerance of now either way (DefaultTolerance
// when tolerance <= 0), and at least one "v1," signature that matches, compared in constant
// time. Signatures of other versions are ignored.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return fmt.Errorf("verifying webhook: %w", err)
	}
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	for _, hv := range [...]struct{ name, value string }{{HeaderID, id}, {HeaderTimestamp, tsText}, {HeaderSignature, sigs}} {
		if hv.value == "" {
			return fmt.Errorf("verifying webhook: %w: %s", ErrMissingHeader, hv.name)
		}
	}
	secs, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("verifying webhook: %w: %s is not unix seconds", ErrInvalidTimestamp, HeaderTimestamp)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if skew := now.Sub(time.Unix(secs, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("verifying webhook: %w: %s is %s from now; tolerance %s",
			ErrInvalidTimestamp, HeaderTimestamp, skew.Round(time.Second), tolerance)
	}

	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + tsText + "."))
	mac.Write(body)
	want := base64.StdEncoding.AppendEncode(nil, mac.Sum(nil))
	for _, sig := range strings.Fields(sigs) {
		version, value, ok := strings.Cut(sig, ",")
		if ok && version == "v1" && hmac.Equal([]byte(value), want) {
			return nil
		}
	}
	return fmt.Errorf("verifying webhook: %w", ErrNoMatchingSignature)
}
