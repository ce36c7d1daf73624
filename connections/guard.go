package connections

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked means an outbound connection was refused because its address
// is not public. Every refusal by the Guard matches it with errors.Is.
var ErrBlocked = errors.New("connections: address not allowed")

// ErrTooManyRedirects means a GET followed the most redirects CheckRedirect allows.
var ErrTooManyRedirects = errors.New("connections: too many redirects")

// BlockedError names the refused address and the range that refused it.
type BlockedError struct {
	// Addr is the address as it was dialed (an IPv4-mapped form stays mapped).
	Addr netip.Addr
	// Range is the blocked range that holds Addr, or the IPv4 address
	// embedded in it; zero when Addr is not a valid address at all.
	Range netip.Prefix
	// Reason says what the range is, e.g. "loopback".
	Reason string
}

func (e *BlockedError) Error() string {
	if !e.Range.IsValid() {
		return fmt.Sprintf("address %v refused: %s", e.Addr, e.Reason)
	}
	return fmt.Sprintf("address %v is in %v (%s); set ALLOWED_CIDRS to allow it", e.Addr, e.Range, e.Reason)
}

// Is makes errors.Is(err, ErrBlocked) true for every BlockedError.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// Guard refuses connections to addresses that are not public, checked at
// dial time after DNS resolution, so a hostname that resolves to a private
// address (or starts to, DNS rebinding) is caught where it matters: at the
// address actually connected to. Redirect hops dial again and are checked again.
type Guard struct {
	allow  []netip.Prefix
	dialer *net.Dialer
}

// NewGuard builds a guard that lets through addresses inside allow (from
// ALLOWED_CIDRS; tests allow loopback, and so does `liaison dev` when
// ALLOWED_CIDRS is unset), even when they are in a blocked range.
func NewGuard(allow []netip.Prefix) *Guard {
	g := &Guard{}
	for _, p := range allow {
		if !p.IsValid() {
			continue
		}
		// The dialer sees ::ffff:a.b.c.d as a.b.c.d; an IPv4-mapped prefix
		// must open the IPv4 range for that to match.
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		g.allow = append(g.allow, p.Masked())
	}
	g.dialer = &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: g.Control}
	return g
}

// Check returns a *BlockedError if ip may not be connected to, nil if it
// may: refused are the addresses that specialRanges refuses, and the IPv6
// forms that carry a refused IPv4 address (IPv4-mapped, SIIT-translated,
// NAT64, 6to4, Teredo, IPv4-compatible), unless ALLOWED_CIDRS opens the
// address or the IPv4 address it carries (Teredo excepted: its client and
// server are two addresses, and the address dialed is neither).
func (g *Guard) Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return &BlockedError{Addr: ip, Reason: "not a valid IP address"}
	}
	// Prefix.Contains never matches an address with a zone, so the zone
	// would otherwise let fe80::1%eth0 through.
	a := ip.WithZone("")
	if g.allowed(a) {
		return nil
	}
	row, ok := lookup(specialRanges, a)
	if !ok {
		return nil
	}
	inner := row.inner(a)
	if row.embed != embedTeredo {
		for _, v4 := range inner {
			if g.allowed(v4) {
				return nil
			}
		}
	}
	for _, v4 := range inner {
		if b, ok := lookup(specialRanges, v4); ok && b.refuse {
			return &BlockedError{Addr: ip, Range: b.prefix, Reason: fmt.Sprintf("%s; %s form of %v", b.reason, row.form, v4)}
		}
	}
	if row.refuse {
		return &BlockedError{Addr: ip, Range: row.prefix, Reason: row.reason}
	}
	return nil
}

// inner returns the IPv4 addresses that a, an address in b, carries: none,
// one, or for Teredo the client (the destination) and then the server.
func (b blockedRange) inner(a netip.Addr) []netip.Addr {
	s := a.As16()
	switch b.embed {
	case embedLow32:
		return []netip.Addr{netip.AddrFrom4([4]byte{s[12], s[13], s[14], s[15]})}
	case embed6to4:
		return []netip.Addr{netip.AddrFrom4([4]byte{s[2], s[3], s[4], s[5]})}
	case embedTeredo:
		return []netip.Addr{
			netip.AddrFrom4([4]byte{^s[12], ^s[13], ^s[14], ^s[15]}),
			netip.AddrFrom4([4]byte{s[4], s[5], s[6], s[7]}),
		}
	}
	return nil
}

// lookup returns the most specific row of table that holds a.
func lookup(table []blockedRange, a netip.Addr) (blockedRange, bool) {
	best, found := blockedRange{}, false
	for _, b := range table {
		if b.prefix.Contains(a) && (!found || b.prefix.Bits() > best.prefix.Bits()) {
			best, found = b, true
		}
	}
	return best, found
}

func (g *Guard) allowed(a netip.Addr) bool {
	for _, p := range g.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Control is a net.Dialer Control function: it runs after DNS, before
// connect, with the address about to be connected to.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return fmt.Errorf("%w: network %q is not an IP network", ErrBlocked, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Refuse what cannot be checked rather than let it through.
		return fmt.Errorf("%w: cannot read dial address %q: %w", ErrBlocked, address, err)
	}
	return g.Check(ap.Addr())
}

// DialContext dials through the guard: connect timeout 5 s, TCP keep-alive 30 s.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if err := checkNumericHost(host); err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
	}
	return g.dialer.DialContext(ctx, network, addr)
}

// checkNumericHost refuses hosts such as 2130706433, 0x7f000001,
// 017700000001, 127.1 or "127.0.0.1." Go's own resolver looks them up as
// names and finds nothing, but the system resolver (cgo, getaddrinfo) reads
// them with inet_aton as 127.0.0.1, so whether they reach loopback would
// depend on the build. No real host name ends in a numeric label (RFC 3696
// §2), so nothing legitimate is lost.
func checkNumericHost(host string) error {
	name := strings.TrimSuffix(host, ".")
	if _, err := netip.ParseAddr(host); err == nil || name == "" {
		return nil
	}
	labels := strings.Split(name, ".")
	if !numericLabel(labels[len(labels)-1]) {
		return nil
	}
	msg := fmt.Sprintf("host %q is a numeric address in a non-standard form", host)
	if a, ok := inetAton(labels); ok {
		msg += fmt.Sprintf(" (the system resolver reads it as %v)", a)
	}
	return fmt.Errorf("%w: %s; write an IPv4 address as four decimal numbers, e.g. 93.184.215.14", ErrBlocked, msg)
}

func numericLabel(s string) bool {
	if rest, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		return strings.Trim(rest, "0123456789abcdef") == ""
	}
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// inetAton reads labels as inet_aton(3) does: one to four parts, each
// decimal, 0x hex or 0-led octal; the last part fills the remaining bytes.
func inetAton(labels []string) (netip.Addr, bool) {
	if len(labels) > 4 {
		return netip.Addr{}, false
	}
	var ip uint64
	for i, l := range labels {
		v, ok := atonPart(l)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(labels)-1 {
			if v > 0xff {
				return netip.Addr{}, false
			}
			ip |= v << (24 - 8*i)
			continue
		}
		if v >= 1<<(8*(4-i)) {
			return netip.Addr{}, false
		}
		ip |= v
	}
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true
}

func atonPart(s string) (uint64, bool) {
	base, digits := 10, s
	switch {
	case strings.HasPrefix(strings.ToLower(s), "0x"):
		base, digits = 16, s[2:]
		if digits == "" {
			return 0, true
		}
	case len(s) > 1 && s[0] == '0':
		base, digits = 8, s[1:]
	}
	var v uint64
	for _, c := range strings.ToLower(digits) {
		d := strings.IndexRune("0123456789abcdef", c)
		if d < 0 || d >= base {
			return 0, false
		}
		v = v*uint64(base) + uint64(d)
		if v > 0xffffffff {
			return 0, false
		}
	}
	return v, true
}

// Transport is the base transport for every request leaving Liaison: the
// settings of http.DefaultTransport, dialing through the guard.
func (g *Guard) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = g.DialContext
	// A proxy would make the connection on Liaison's behalf, and the guard
	// would only see the proxy's address.
	t.Proxy = nil
	t.TLSHandshakeTimeout = 10 * time.Second
	t.IdleConnTimeout = 90 * time.Second
	// Deliveries go to a few receivers many times a second, up to
	// DELIVERY_CONCURRENCY (200) at once to one host: fewer idle connections
	// kept per host than that would close and dial again every connection
	// above the number kept (Go's default keeps 2).
	t.MaxIdleConnsPerHost = 256
	t.MaxIdleConns = 1024
	// Needed for HTTP/2 when DialContext is set.
	t.ForceAttemptHTTP2 = true
	return t
}

// CheckRedirect is an http.Client CheckRedirect policy (Liaison uses
// maxHops 5):
//   - a request that was not GET or HEAD follows no redirect: the client
//     returns the 3xx response itself (http.ErrUseLastResponse), so the
//     caller records it and classifies it like any other answer instead of
//     replaying a POST somewhere else;
//   - GET and HEAD follow at most maxHops redirects, then fail with
//     ErrTooManyRedirects;
//   - when a hop leaves the original origin (scheme, host or port),
//     Authorization, Cookie and Proxy-Authorization are removed: a
//     credential is meant for the origin it was given for, and an https
//     credential must not travel over plain http even to the same host.
//
// Every hop dials again through the Guard, so a redirect to a private
// address is refused like a direct request.
//
// Only headers set on the request are removed here. A RoundTripper that adds
// Authorization itself (as oauth2.Transport does) runs again on every hop
// and must check the host on its own.
func CheckRedirect(maxHops int) func(req *http.Request, via []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		orig := via[0]
		if orig.Method != http.MethodGet && orig.Method != http.MethodHead {
			return http.ErrUseLastResponse
		}
		if len(via) > maxHops {
			return fmt.Errorf("%w: stopped after %d", ErrTooManyRedirects, maxHops)
		}
		if !sameOrigin(req.URL, orig.URL) {
			req.Header.Del("Authorization")
			req.Header.Del("Cookie")
			req.Header.Del("Proxy-Authorization")
		}
		return nil
	}
}

// sameOrigin reports whether a and b have the same scheme, host and port
// (an origin, RFC 6454), the unit a credential is given for; a missing port
// is the scheme's default.
func sameOrigin(a, b *url.URL) bool {
	if !strings.EqualFold(a.Scheme, b.Scheme) || !strings.EqualFold(a.Hostname(), b.Hostname()) {
		return false
	}
	pa, pb := a.Port(), b.Port()
	if pa == "" {
		pa = defaultPort(strings.ToLower(a.Scheme))
	}
	if pb == "" {
		pb = defaultPort(strings.ToLower(b.Scheme))
	}
	return pa == pb
}
