package api

import (
	"net/http/httptest"
	"testing"
)

func TestFailuresAreCountedPerIPv4AddressAndPerIPv6Slash64(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"192.0.2.7:5555":                     "192.0.2.7",
		"[::ffff:192.0.2.7]:5555":            "192.0.2.7",
		"[2001:db8:1:2:aaaa::1]:443":         "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:ffff:ffff:1]:80": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:80":               "2001:db8:1:3::/64",
	}
	for remote, want := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if got := clientIP(r); got != want {
			t.Errorf("clientIP(%q) = %q; want %q", remote, got, want)
		}
	}
}
