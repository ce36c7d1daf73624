package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of a key: AES-256.
const KeySize = 32

var (
	// ErrUnknownKey means the value was sealed with a key that is not in the ring.
	ErrUnknownKey = errors.New("secret: sealed with a key that is not in SECRET_KEYS")
	// ErrCorrupt means the value was changed, or sealed for another place.
	ErrCorrupt = errors.New("secret: sealed value is corrupt or does not belong here")
)

// Ring seals with its newest key and opens with any of its keys.
type Ring struct {
	ids   []string
	aeads map[string]cipher.AEAD
}

// NewRing builds a ring from keys, newest first.
func NewRing(keys [][]byte) (*Ring, error) {
	if len(keys) == 0 {
		return nil, errors.New("secret: no keys")
	}
	r := &Ring{aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("secret: key %d is %d bytes; want %d", i+1, len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("secret: key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret: key %d: %w", i+1, err)
		}
		id := KeyID(k)
		if _, dup := r.aeads[id]; dup {
			return nil, fmt.Errorf("secret: key %d is given twice", i+1)
		}
		r.ids = append(r.ids, id)
		r.aeads[id] = aead
	}
	return r, nil
}

// KeyID names a key without revealing it.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// Seal encrypts plaintext with the newest key. aad binds the value to where
// it is stored; Open must be given the same aad.
func (r *Ring) Seal(plaintext, aad []byte) (string, error) {
	id := r.ids[0]
	aead := r.aeads[id]
	buf := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("secret: reading nonce: %w", err)
	}
	buf = aead.Seal(buf, buf, plaintext, aad)
	return "v1." + id + "." + base64.RawURLEncoding.EncodeToString(buf), nil
}

// SealString is Seal for text; the empty string seals to "".
func (r *Ring) SealString(plaintext, aad string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	return r.Seal([]byte(plaintext), []byte(aad))
}

// Open decrypts a value sealed by any key of the ring.
func (r *Ring) Open(sealed string, aad []byte) ([]byte, error) {
	version, rest, ok := strings.Cut(sealed, ".")
	if !ok || version != "v1" {
		return nil, ErrCorrupt
	}
	id, body, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, ErrCorrupt
	}
	aead, ok := r.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w (key id %s)", ErrUnknownKey, id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrCorrupt
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], aad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}

// OpenString is Open for text; "" opens to "".
func (r *Ring) OpenString(sealed, aad string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	b, err := r.Open(sealed, []byte(aad))
	return string(b), err
}

// NeedsReseal reports whether a value was sealed with an older key, so a
// background pass can seal it again with the newest one.
func (r *Ring) NeedsReseal(sealed string) bool {
	return !strings.HasPrefix(sealed, "v1."+r.ids[0]+".")
}

// NewKey returns a fresh random key.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("secret: reading random key: %w", err)
	}
	return k, nil
}

// LoadOrCreateKeyFile reads a key file (base64 keys, one per line, newest
// first) or, when it does not exist, creates it with one new key, readable by
// its owner only. created reports which happened.
func LoadOrCreateKeyFile(path string) (keys [][]byte, created bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err := NewKey()
		if err != nil {
			return nil, false, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, fmt.Errorf("secret: creating key file folder: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreateKeyFile(path) // another process made it first
		}
		if err != nil {
			return nil, false, fmt.Errorf("secret: creating key file: %w", err)
		}
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, false, fmt.Errorf("secret: writing key file: %w", werr)
		}
		return [][]byte{k}, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("secret: reading key file: %w", err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(k) != KeySize {
			return nil, false, fmt.Errorf("secret: key file %s line %d is not a base64 32-byte key", path, i+1)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, false, fmt.Errorf("secret: key file %s holds no key", path)
	}
	return keys, false, nil
}

// Mask shows a secret as its first and last character around stars, the
// way the platform's UI shows client secrets ("5******C"). Short secrets are
// all stars: showing two characters of a six-character secret gives too much away.
func Mask(s string) string {
	if s == "" {
		return ""
	}
	r := []rune(s)
	if len(r) < 8 {
		return strings.Repeat("*", 6)
	}
	return string(r[0]) + strings.Repeat("*", 6) + string(r[len(r)-1])
}
