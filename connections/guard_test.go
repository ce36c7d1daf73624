package connections_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// client is what Liaison builds: the guard's transport and the redirect policy.
func client(t *testing.T, allow []netip.Prefix) *http.Client {
	t.Helper()
	tr := connections.NewGuard(allow).Transport()
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, CheckRedirect: connections.CheckRedirect(5), Timeout: 10 * time.Second}
}

func requireBlocked(t *testing.T, err error, wantRange string) *connections.BlockedError {
	t.Helper()
	require.ErrorIs(t, err, connections.ErrBlocked)
	var be *connections.BlockedError
	require.ErrorAs(t, err, &be)
	require.Equal(t, wantRange, be.Range.String(), err.Error())
	require.Contains(t, err.Error(), "set ALLOWED_CIDRS to allow it")
	return be
}

func TestCheckRefusesSpecialRanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr, rng string
	}{
		{"0.0.0.0", "0.0.0.0/32"},
		{"0.1.2.3", "0.0.0.0/8"},
		{"10.0.0.1", "10.0.0.0/8"},
		{"10.255.255.255", "10.0.0.0/8"},
		{"100.64.0.1", "100.64.0.0/10"},
		{"100.127.255.254", "100.64.0.0/10"},
		{"127.0.0.1", "127.0.0.0/8"},
		{"127.255.255.254", "127.0.0.0/8"},
		{"169.254.169.254", "169.254.0.0/16"},
		{"172.16.0.1", "172.16.0.0/12"},
		{"172.31.255.255", "172.16.0.0/12"},
		{"192.0.0.8", "192.0.0.8/32"},
		{"192.0.2.1", "192.0.2.0/24"},
		{"192.168.1.1", "192.168.0.0/16"},
		{"198.18.0.1", "198.18.0.0/15"},
		{"198.19.255.255", "198.18.0.0/15"},
		{"198.51.100.7", "198.51.100.0/24"},
		{"203.0.113.9", "203.0.113.0/24"},
		{"224.0.0.251", "224.0.0.0/4"},
		{"239.255.255.250", "224.0.0.0/4"},
		{"240.0.0.1", "240.0.0.0/4"},
		{"255.255.255.255", "255.255.255.255/32"},

		{"::", "::/128"},
		{"::1", "::1/128"},
		{"fc00::1", "fc00::/7"},
		{"fd00:ec2::254", "fc00::/7"}, // AWS metadata over IPv6
		{"fe80::1", "fe80::/10"},
		{"fe80::1%eth0", "fe80::/10"},
		{"fec0::1", "fec0::/10"},
		{"ff02::1", "ff00::/8"},
		{"2001:db8::1", "2001:db8::/32"},
		{"2001:0:4136:e378::1", "240.0.0.0/4"}, // Teredo client 255.255.255.254
		{"2001:0:4136:e378::f7f7:f7f7", "2001::/32"},
		{"100::1", "100::/64"},
		{"3fff::1", "3fff::/20"},
		{"64:ff9b:1::a00:1", "10.0.0.0/8"},
		{"64:ff9b:1::808:808", "64:ff9b:1::/48"},

		// IPv4 inside IPv6: the IPv4 destination decides.
		{"::ffff:127.0.0.1", "127.0.0.0/8"},
		{"::ffff:169.254.169.254", "169.254.0.0/16"},
		{"::ffff:10.1.2.3", "10.0.0.0/8"},
		{"::ffff:0.0.0.0", "0.0.0.0/32"},
		{"::ffff:0:a9fe:a9fe", "169.254.0.0/16"}, // SIIT IPv4-translated
		{"::ffff:0:7f00:1", "127.0.0.0/8"},
		{"64:ff9b::127.0.0.1", "127.0.0.0/8"},
		{"64:ff9b::a9fe:a9fe", "169.254.0.0/16"},
		{"::127.0.0.1", "127.0.0.0/8"}, // IPv4-compatible
		{"::8.8.8.8", "::/96"},         // deprecated form, refused even when public
		{"2002:7f00:1::1", "127.0.0.0/8"},
		{"2002:a9fe:a9fe::", "169.254.0.0/16"},
	}
	g := connections.NewGuard(nil)
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			be := requireBlocked(t, g.Check(netip.MustParseAddr(tt.addr)), tt.rng)
			require.Equal(t, netip.MustParseAddr(tt.addr), be.Addr)
			require.NotEmpty(t, be.Reason)
		})
	}
}

func TestCheckLetsPublicAddressesThrough(t *testing.T) {
	t.Parallel()
	g := connections.NewGuard(nil)
	for _, s := range []string{
		"8.8.8.8", "93.184.215.14", "1.1.1.1", "9.255.255.255", "11.0.0.1",
		"100.63.255.255", "100.128.0.0", "169.253.255.255", "169.255.0.0",
		"172.15.255.255", "172.32.0.0", "192.0.1.1", "192.169.0.1", "198.17.255.255", "198.20.0.0",
		"223.255.255.255",
		"2606:4700:4700::1111", "2a00:1450:4001:81a::200e",
		"2001:4860:4860::8888", "2001:200::1", "2400:cb00::1", // 2001:200:: is just past 2001::/23
		"::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1",
	} {
		require.NoError(t, g.Check(netip.MustParseAddr(s)), s)
	}
}

func TestCheckExplains(t *testing.T) {
	t.Parallel()
	g := connections.NewGuard(nil)
	require.EqualError(t, g.Check(netip.MustParseAddr("169.254.169.254")),
		"address 169.254.169.254 is in 169.254.0.0/16 (link-local, cloud metadata); set ALLOWED_CIDRS to allow it")
	require.EqualError(t, g.Check(netip.MustParseAddr("::ffff:169.254.169.254")),
		"address ::ffff:169.254.169.254 is in 169.254.0.0/16 (link-local, cloud metadata; IPv4-mapped form of 169.254.169.254); set ALLOWED_CIDRS to allow it")
	require.EqualError(t, g.Check(netip.MustParseAddr("64:ff9b::7f00:1")),
		"address 64:ff9b::7f00:1 is in 127.0.0.0/8 (loopback; NAT64 form of 127.0.0.1); set ALLOWED_CIDRS to allow it")

	err := g.Check(netip.Addr{})
	require.ErrorIs(t, err, connections.ErrBlocked)
	require.ErrorContains(t, err, "not a valid IP address")
}

func TestAllowList(t *testing.T) {
	t.Parallel()
	g := connections.NewGuard(append(loopback,
		netip.MustParsePrefix("::ffff:10.1.0.0/112"), // an IPv4-mapped prefix opens the IPv4 range
		netip.MustParsePrefix("fd00::/8"),
	))
	for _, s := range []string{"127.0.0.1", "127.1.2.3", "::ffff:127.0.0.1", "::1", "64:ff9b::7f00:1", "10.1.2.3", "::ffff:10.1.2.3", "fd00::1"} {
		require.NoError(t, g.Check(netip.MustParseAddr(s)), s)
	}
	for s, rng := range map[string]string{
		"10.2.0.1":               "10.0.0.0/8",
		"169.254.169.254":        "169.254.0.0/16",
		"::ffff:169.254.169.254": "169.254.0.0/16",
		"0.0.0.0":                "0.0.0.0/32",
		"::":                     "::/128",
		"fc00::1":                "fc00::/7",
	} {
		requireBlocked(t, g.Check(netip.MustParseAddr(s)), rng)
	}
}

func TestControl(t *testing.T) {
	t.Parallel()
	g := connections.NewGuard(nil)
	requireBlocked(t, g.Control("tcp4", "127.0.0.1:443", nil), "127.0.0.0/8")
	requireBlocked(t, g.Control("tcp6", "[fe80::1%eth0]:443", nil), "fe80::/10")
	require.NoError(t, g.Control("tcp4", "93.184.215.14:443", nil))

	err := g.Control("unix", "/var/run/docker.sock", nil)
	require.ErrorIs(t, err, connections.ErrBlocked)
	err = g.Control("tcp", ":443", nil)
	require.ErrorIs(t, err, connections.ErrBlocked, "an address the guard cannot read is refused")
}

// server is an httptest server on 127.0.0.1 that counts its requests.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func port(t *testing.T, s *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(s.URL)
	require.NoError(t, err)
	return u.Port()
}

func TestLoopbackServer(t *testing.T) {
	t.Parallel()
	s, hits := server(t, nil)

	_, err := client(t, nil).Get(s.URL)
	requireBlocked(t, err, "127.0.0.0/8")
	require.ErrorContains(t, err, "address 127.0.0.1 is in 127.0.0.0/8 (loopback)")
	require.Zero(t, hits.Load(), "refused before connecting")

	resp, err := client(t, loopback).Get(s.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.EqualValues(t, 1, hits.Load())
}

func TestHostnameResolvingToLoopback(t *testing.T) {
	t.Parallel()
	s, hits := server(t, nil)
	// localhost resolves to 127.0.0.1 (and ::1 where configured): a name is
	// judged by where it leads, after DNS.
	_, err := client(t, nil).Get("http://localhost:" + port(t, s) + "/")
	require.ErrorIs(t, err, connections.ErrBlocked)
	require.ErrorContains(t, err, "(loopback); set ALLOWED_CIDRS to allow it")
	require.Zero(t, hits.Load())

	_, err = connections.NewGuard(nil).DialContext(t.Context(), "tcp", "localhost:"+port(t, s))
	require.ErrorIs(t, err, connections.ErrBlocked)
}

func TestUnspecifiedAddressReachesNothing(t *testing.T) {
	t.Parallel()
	s, hits := server(t, nil)
	// On Linux a connect to 0.0.0.0 or :: lands on the local host; allowing
	// loopback must not open that door.
	for _, host := range []string{"0.0.0.0", "[::]", "[::ffff:0.0.0.0]"} {
		_, err := client(t, loopback).Get("http://" + host + ":" + port(t, s) + "/")
		require.ErrorIs(t, err, connections.ErrBlocked, host)
	}
	require.Zero(t, hits.Load())
}

func TestMappedLoopbackLiteral(t *testing.T) {
	t.Parallel()
	s, hits := server(t, nil)
	_, err := client(t, nil).Get("http://[::ffff:127.0.0.1]:" + port(t, s) + "/")
	requireBlocked(t, err, "127.0.0.0/8")
	require.Zero(t, hits.Load())
}

// Go's resolver looks these up as names and finds nothing, but the system
// resolver (GODEBUG=netdns=cgo, getaddrinfo's inet_aton) reads them as
// 127.0.0.1 and would connect. The guard refuses them before any lookup, so
// the outcome does not depend on which resolver the binary uses.
func TestNumericHostForms(t *testing.T) {
	t.Parallel()
	s, hits := server(t, nil)
	p := port(t, s)
	for _, host := range []string{"2130706433", "0x7f000001", "017700000001", "0177.0.0.1", "0x7f.1", "127.1", "127.0.0.1.", "0"} {
		for _, allow := range [][]netip.Prefix{nil, loopback} {
			_, err := client(t, allow).Get("http://" + host + ":" + p + "/")
			require.ErrorIs(t, err, connections.ErrBlocked, host)
			require.ErrorContains(t, err, "non-standard form")
			if host != "0" {
				require.ErrorContains(t, err, "reads it as 127.0.0.1", host)
			}
		}
	}
	require.Zero(t, hits.Load())

	// Ordinary names are left to DNS and the dial-time check.
	_, err := client(t, nil).Get("http://no-such-host.invalid/")
	require.Error(t, err)
	require.NotErrorIs(t, err, connections.ErrBlocked)
}

func TestRedirectToBlockedAddress(t *testing.T) {
	t.Parallel()
	target, targetHits := server(t, nil)
	for _, tt := range []struct{ location, rng string }{
		{"http://169.254.169.254/latest/meta-data/", "169.254.0.0/16"},
		{"http://[::ffff:169.254.169.254]/latest/meta-data/", "169.254.0.0/16"},
		{"http://10.0.0.1/", "10.0.0.0/8"},
		// Loopback is allowed for 127.0.0.0/8 only here: the other loopback is not.
		{"http://[::1]:" + port(t, target) + "/", "::1/128"},
	} {
		s, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, tt.location, http.StatusFound)
		})
		_, err := client(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}).Get(s.URL)
		requireBlocked(t, err, tt.rng)
	}
	require.Zero(t, targetHits.Load())
}

func TestRedirectsOnlyForGET(t *testing.T) {
	t.Parallel()
	target, targetHits := server(t, nil)
	s, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	})
	c := client(t, loopback)
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		req, err := http.NewRequestWithContext(t.Context(), method, s.URL, strings.NewReader(`{}`))
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err, method)
		resp.Body.Close()
		require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode, "the caller sees the 3xx and classifies it")
		require.Equal(t, target.URL, resp.Header.Get("Location"))
	}
	require.Zero(t, targetHits.Load())

	resp, err := c.Get(s.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.EqualValues(t, 1, targetHits.Load())
}

func TestRedirectHopLimit(t *testing.T) {
	t.Parallel()
	// /chain/N redirects N more times, then answers 200.
	s, hits := server(t, func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/chain/"))
		if err != nil || n == 0 {
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/chain/%d", n-1), http.StatusFound)
	})
	c := client(t, loopback)

	resp, err := c.Get(s.URL + "/chain/5")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.EqualValues(t, 6, hits.Load())

	_, err = c.Get(s.URL + "/chain/6")
	require.ErrorIs(t, err, connections.ErrTooManyRedirects)
	require.EqualValues(t, 6+6, hits.Load(), "the sixth redirect is not followed")
}

func TestRedirectDropsCredentialsOnHostChange(t *testing.T) {
	t.Parallel()
	type seen struct{ auth, cookie string }
	got := make(chan seen, 10)
	record := func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Header.Get("Authorization"), r.Header.Get("Cookie")}
	}
	other, _ := server(t, record) // another port on 127.0.0.1
	origin, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/landing" {
			record(w, r)
			return
		}
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	otherPort := port(t, other)

	c := client(t, loopback)
	get := func(to string) seen {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, origin.URL+"/go?to="+url.QueryEscape(to), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer secret-token")
		req.Header.Set("Cookie", "session=1")
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return <-got
	}

	// Same host and port: the credential stays.
	require.Equal(t, seen{"Bearer secret-token", "session=1"}, get("/landing"))
	// Another host name (localhost, not 127.0.0.1): dropped.
	require.Equal(t, seen{}, get("http://localhost:"+otherPort+"/"))
	// Same host name, another port: Go's client would keep Authorization;
	// a different port is a different service, so it goes.
	require.Equal(t, seen{}, get("http://127.0.0.1:"+otherPort+"/"))
}

func TestCheckRedirectPolicy(t *testing.T) {
	t.Parallel()
	check := connections.CheckRedirect(5)
	req := func(method, rawURL string) *http.Request {
		r, err := http.NewRequestWithContext(t.Context(), method, rawURL, nil)
		require.NoError(t, err)
		r.Header.Set("Authorization", "Bearer t")
		r.Header.Set("Proxy-Authorization", "Basic x")
		r.Header.Set("Cookie", "a=b")
		return r
	}

	require.ErrorIs(t, check(req("GET", "https://api.example.com/b"), []*http.Request{req("POST", "https://api.example.com/a")}), http.ErrUseLastResponse)
	require.NoError(t, check(req("GET", "https://api.example.com/b"), []*http.Request{req("HEAD", "https://api.example.com/a")}))

	// A subdomain is another host too.
	next := req("GET", "https://evil.api.example.com/")
	require.NoError(t, check(next, []*http.Request{req("GET", "https://api.example.com/")}))
	require.Empty(t, next.Header.Get("Authorization"))
	require.Empty(t, next.Header.Get("Proxy-Authorization"))
	require.Empty(t, next.Header.Get("Cookie"))

	// A downgrade to http on the same host would send the token in clear.
	next = req("GET", "http://api.example.com/")
	require.NoError(t, check(next, []*http.Request{req("GET", "https://api.example.com/")}))
	require.Empty(t, next.Header.Get("Authorization"))

	next = req("GET", "https://API.example.com/x")
	require.NoError(t, check(next, []*http.Request{req("GET", "https://api.example.com/")}))
	require.Equal(t, "Bearer t", next.Header.Get("Authorization"))

	// The default port named or not is the same origin.
	next = req("GET", "https://api.example.com:443/x")
	require.NoError(t, check(next, []*http.Request{req("GET", "https://api.example.com/")}))
	require.Equal(t, "Bearer t", next.Header.Get("Authorization"))

	via := make([]*http.Request, 6)
	for i := range via {
		via[i] = req("GET", "https://api.example.com/")
	}
	require.NoError(t, check(req("GET", "https://api.example.com/"), via[:5]))
	require.ErrorIs(t, check(req("GET", "https://api.example.com/"), via), connections.ErrTooManyRedirects)
}

func TestTransport(t *testing.T) {
	t.Parallel()
	tr := connections.NewGuard(nil).Transport()
	require.Nil(t, tr.Proxy, "a proxy would dial on our behalf, past the guard")
	require.NotNil(t, tr.DialContext)
	require.True(t, tr.ForceAttemptHTTP2)
	require.Equal(t, 10*time.Second, tr.TLSHandshakeTimeout)
	require.Equal(t, 90*time.Second, tr.IdleConnTimeout)
	require.GreaterOrEqual(t, tr.MaxIdleConnsPerHost, 64)

	// HTTPS, and HTTP/2 despite the custom dialer, through the guard.
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	s.EnableHTTP2 = true
	s.StartTLS()
	t.Cleanup(s.Close)
	_, err := (&http.Client{Transport: tr}).Get(s.URL)
	requireBlocked(t, err, "127.0.0.0/8")

	tr = connections.NewGuard(loopback).Transport()
	t.Cleanup(tr.CloseIdleConnections)
	tr.TLSClientConfig = s.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	resp, err := (&http.Client{Transport: tr}).Get(s.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
}
