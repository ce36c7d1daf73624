package connections_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/retry"
)

// Through Do, with nothing allowed: every special range, names that
// resolve into them, numeric forms and redirects are refused with an error
// that says why, before any byte is sent.
func TestDoRefusesInternalAddresses(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *connections.Options) { o.AllowedCIDRs = nil })
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(s.Close)
	port := s.URL[strings.LastIndex(s.URL, ":")+1:]

	tests := []struct{ url, why string }{
		{"http://127.0.0.1:" + port + "/", "loopback"},
		{"http://localhost:" + port + "/", "loopback"},
		{"http://[::1]:" + port + "/", "loopback"},
		{"http://[::ffff:127.0.0.1]:" + port + "/", "127.0.0.0/8"}, // dialed as its IPv4 form
		{"http://2130706433:" + port + "/", "numeric address"},
		{"http://0x7f000001:" + port + "/", "numeric address"},
		{"http://10.1.2.3/", "RFC 1918"},
		{"http://172.16.0.1/", "RFC 1918"},
		{"http://192.168.1.1/", "RFC 1918"},
		{"http://169.254.169.254/latest/meta-data/", "cloud metadata"},
		{"http://100.64.0.1/", "carrier-grade NAT"},
		{"http://[fc00::1]/", "unique local"},
		{"http://[fe80::1]/", "link-local"},
		{"http://224.0.0.1/", "multicast"},
		{"http://0.0.0.0:" + port + "/", "unspecified"},
		{"http://[::]:" + port + "/", "unspecified"},
		{"http://[::ffff:169.254.169.254]/", "169.254.0.0/16"},
		{"http://[::ffff:0:a9fe:a9fe]/", "169.254.0.0/16"}, // SIIT IPv4-translated
		{"http://[::ffff:0:7f00:1]:" + port + "/", "127.0.0.0/8"},
		{"http://[64:ff9b::a9fe:a9fe]/", "169.254.0.0/16"},
		{"http://192.0.0.170/", "192.0.0.170/31"},
		{"http://[5f00::1]/", "5f00::/16"},
	}
	for _, tc := range tests {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, tc.url, nil)
		require.NoError(t, err)
		_, err = b.svc.Do(t.Context(), "", req)
		require.ErrorIs(t, err, connections.ErrBlocked, tc.url)
		require.ErrorIs(t, err, retry.ErrNever, tc.url)
		require.Contains(t, err.Error(), tc.why, tc.url)
	}

	// A public-looking start that redirects inside: with only this one
	// address allowed, the hop to the metadata address is refused.
	open := setup(t, func(o *connections.Options) { o.AllowedCIDRs = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	redirect := httptest.NewServer(http.RedirectHandler("http://169.254.169.254/latest/meta-data/", http.StatusFound))
	t.Cleanup(redirect.Close)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, redirect.URL, nil)
	require.NoError(t, err)
	_, err = open.svc.Do(t.Context(), "", req)
	require.ErrorIs(t, err, connections.ErrBlocked)
	require.Contains(t, err.Error(), "169.254.0.0/16")

	// ALLOWED_CIDRS opens what it names.
	req, err = http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL, nil)
	require.NoError(t, err)
	resp, err := open.svc.Do(t.Context(), "", req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// A connection whose base URL is inside a blocked range is refused at
	// dial time too, with its credentials never sent.
	c, err := open.svc.Create(t.Context(), connections.Input{
		Name: new("internal"), AuthType: new(connections.AuthBearer), BaseURL: new("https://10.0.0.8"), Token: new("tok-123456789"),
	})
	require.NoError(t, err)
	_, err = open.get(t, c.ID, "/x")
	require.ErrorIs(t, err, connections.ErrBlocked)
	require.Contains(t, err.Error(), "ALLOWED_CIDRS")
}
