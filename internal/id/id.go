package id

import (
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"time"
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// New returns prefix + "_" + 19 base62 characters.
func New(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + "_" + Base62(big.NewInt(time.Now().UnixMilli()), 8) + Base62(new(big.Int).SetBytes(b), 11)
}

// NewHex returns prefix + 24 lowercase hex digits of 96 random bits: the
// shape of the ids the hooks package makes (evt_, dlv_, dlb_, hook_, wh_,
// call_) and of request ids (no prefix). Unlike New's they do not sort by
// time, and prefix carries its own separator. Both shapes are visible in
// the API, so neither may change.
func NewHex(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Base62 writes n in base 62, left-padded with zeros to width digits. It
// consumes n.
func Base62(n *big.Int, width int) string {
	out := make([]byte, width)
	base, mod := big.NewInt(62), new(big.Int)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = alphabet[mod.Int64()]
	}
	return string(out)
}

// IsBase62 reports whether every byte of s is a base62 digit.
func IsBase62(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}
