package connections

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// The guard fuzz targets state what must hold whatever the range table says: an address
// that is not public is refused in every form it can be written or dialed in, and an
// address inside ALLOWED_CIDRS is let through.

// fuzzAddr makes an address from fuzzed bytes: 4 bytes IPv4, 16 bytes IPv6.
func fuzzAddr(b []byte) (netip.Addr, bool) {
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b)), true
	case 16:
		return netip.AddrFrom16([16]byte(b)), true
	}
	return netip.Addr{}, false
}

// notPublic is what the standard library alone says is not a public unicast address, plus
// the ranges docs/DESIGN.md ("Outbound requests") names that it does not know (CGNAT).
func notPublic(a netip.Addr) bool {
	a = a.Unmap()
	return !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() ||
		a.IsMulticast() || a.IsUnspecified() || netip.MustParsePrefix("100.64.0.0/10").Contains(a)
}

// checkRefusal says what is wrong with err as Check's refusal of a, "" if nothing.
func checkRefusal(a netip.Addr, err error) string {
	var be *BlockedError
	if !errors.As(err, &be) || !errors.Is(err, ErrBlocked) {
		return fmt.Sprintf("error %v (%T) is not a *BlockedError matching ErrBlocked", err, err)
	}
	if be.Addr != a {
		return fmt.Sprintf("BlockedError.Addr = %v; want %v as dialed", be.Addr, a)
	}
	if be.Reason == "" || be.Error() == "" {
		return "BlockedError without a reason"
	}
	return ""
}

// forms gives the other ways the same destination can be written as an IP address.
func forms(a netip.Addr) []netip.Addr {
	if a.Is4() {
		v4 := a.As4()
		return []netip.Addr{
			netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}), // ::ffff:a.b.c.d
		}
	}
	if a.Is4In6() {
		return []netip.Addr{a.Unmap()}
	}
	return []netip.Addr{a.WithZone("eth0"), a.WithZone("1")}
}

// embeddings are IPv6 addresses that carry a as the IPv4 destination (NAT64, 6to4,
// IPv4-compatible), which a refused IPv4 address must not slip through.
func embeddings(a netip.Addr) []netip.Addr {
	v4 := a.As4()
	return []netip.Addr{
		netip.AddrFrom16([16]byte{0: 0x00, 1: 0x64, 2: 0xff, 3: 0x9b, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}), // 64:ff9b::a.b.c.d
		netip.AddrFrom16([16]byte{0: 0x20, 1: 0x02, 2: v4[0], 3: v4[1], 4: v4[2], 5: v4[3], 15: 1}),                // 2002:aabb:ccdd::1
		netip.AddrFrom16([16]byte{12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}),                                     // ::a.b.c.d
	}
}

func FuzzGuardCheck(f *testing.F) {
	for _, s := range []string{
		"0.0.0.0", "127.0.0.1", "10.1.2.3", "100.64.0.1", "100.127.255.255", "169.254.169.254", "172.31.0.1",
		"192.0.0.8", "192.0.2.1", "192.168.1.1", "198.18.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255",
		"1.1.1.1", "8.8.8.8", "93.184.215.14", "100.63.255.255", "100.128.0.0",
		"::", "::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:8.8.8.8", "::127.0.0.1", "::8.8.8.8",
		"64:ff9b::7f00:1", "64:ff9b::808:808", "64:ff9b:1::1", "2002:7f00:1::1", "2002:808:808::1", "2001::1",
		"2001:db8::1", "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1", "100::1", "3fff::1",
		"2606:4700::1111", "2a00:1450:4001::200e", "::ffff:0:a9fe:a9fe",
	} {
		a := netip.MustParseAddr(s)
		if a.Is4() {
			b := a.As4()
			f.Add(b[:], uint8(24))
		} else {
			b := a.As16()
			f.Add(b[:], uint8(64))
		}
	}
	deny := NewGuard(nil)
	f.Fuzz(func(t *testing.T, raw []byte, bits uint8) {
		a, ok := fuzzAddr(raw)
		if !ok {
			return
		}
		err := deny.Check(a)
		if err != nil {
			if msg := checkRefusal(a, err); msg != "" {
				t.Fatalf("Check(%v): %s", a, msg)
			}
		} else if notPublic(a) {
			t.Fatalf("Check(%v) let through an address that is not public", a)
		}

		// The textual form parses back to the same address, and is judged the same.
		for _, text := range []string{a.String(), a.StringExpanded()} {
			back, perr := netip.ParseAddr(text)
			if perr != nil || back != a {
				t.Fatalf("ParseAddr(%q) = %v, %v; want %v", text, back, perr, a)
			}
			if (deny.Check(back) == nil) != (err == nil) {
				t.Fatalf("Check(%v) = %v, but Check of its text %q = %v", a, err, text, deny.Check(back))
			}
		}

		// Every other form of the same destination is judged the same.
		for _, other := range forms(a) {
			if oerr := deny.Check(other); (oerr == nil) != (err == nil) {
				t.Fatalf("Check(%v) = %v, but Check(%v), the same destination, = %v", a, err, other, oerr)
			} else if oerr != nil {
				if msg := checkRefusal(other, oerr); msg != "" {
					t.Fatalf("Check(%v): %s", other, msg)
				}
			}
		}
		if a.Is4() && err != nil {
			for _, e := range embeddings(a) {
				if deny.Check(e) == nil {
					t.Fatalf("Check(%v) refuses it, but Check(%v), which carries it, lets it through", a, e)
				}
			}
		}

		// ALLOWED_CIDRS opens any range that holds the address, written either way.
		bitLen := a.BitLen()
		n := int(bits) % (bitLen + 1)
		if a.Is4In6() && n < 96 {
			n = 96 + n%33 // a mapped prefix opens IPv4 space only from /96 on
		}
		prefix := netip.PrefixFrom(a, n).Masked()
		if open := NewGuard([]netip.Prefix{prefix}); open.Check(a) != nil {
			t.Fatalf("with ALLOWED_CIDRS=%v, Check(%v) = %v; want it let through", prefix, a, open.Check(a))
		}
	})
}

// refusedHost says whether a dial to host (a URL's host, brackets removed) is refused before
// it connects: by the numeric-host check DialContext makes, or by Check of the address
// literal. A name that is not an address is judged after DNS, not here.
func refusedHost(g *Guard, host string) bool {
	if checkNumericHost(host) != nil {
		return true
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return g.Check(a) != nil
	}
	return false
}

// numericForms writes an IPv4 address the ways inet_aton(3), and with it the system
// resolver, reads as that address, as well as IPv6 literals that carry it.
func numericForms(a netip.Addr, pad uint8) []string {
	b := a.As4()
	u := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	p := int(pad%4) + 1
	dec := func(v uint32) string { return fmt.Sprintf("%0*d", p, v) }
	oct := func(v uint32) string { return "0" + strconv.FormatUint(uint64(v), 8) }
	hex := func(v uint32) string { return "0x" + strconv.FormatUint(uint64(v), 16) }
	var out []string
	for _, w := range []func(uint32) string{dec, oct, hex, func(v uint32) string { return strings.ToUpper(hex(v)) }} {
		out = append(out,
			w(u),
			w(uint32(b[0]))+"."+w(u&0xffffff),
			w(uint32(b[0]))+"."+w(uint32(b[1]))+"."+w(u&0xffff),
			w(uint32(b[0]))+"."+w(uint32(b[1]))+"."+w(uint32(b[2]))+"."+w(uint32(b[3])),
		)
	}
	for _, s := range out {
		out = append(out, s+".")
	}
	return append(out, "::ffff:"+a.String(), fmt.Sprintf("::ffff:%x:%x", u>>16, u&0xffff),
		fmt.Sprintf("0:0:0:0:0:ffff:%04x:%04x", u>>16, u&0xffff), "::FFFF:"+a.String(),
		// SIIT's IPv4-translated form (::ffff:0:0/96), refused as a whole.
		fmt.Sprintf("::ffff:0:%x:%x", u>>16, u&0xffff), "::ffff:0:"+a.String())
}

// FuzzGuardHost checks the textual forms of an address a URL may carry: every form of a
// refused IPv4 address (zero-padded, octal, hex, short, one integer, IPv4-mapped or
// IPv4-translated, with a trailing dot) is refused before the dial, and any host whose last label is a number is
// either a standard address literal or refused.
func FuzzGuardHost(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "10.0.0.1", "169.254.169.254", "0.0.0.0", "192.168.0.1", "8.8.8.8", "100.64.0.1"} {
		b := netip.MustParseAddr(s).As4()
		f.Add(b[0], b[1], b[2], b[3], uint8(0), "")
		f.Add(b[0], b[1], b[2], b[3], uint8(2), "")
	}
	for _, h := range []string{"2130706433", "0x7f000001", "017700000001", "127.1", "127.0.0.1.", "127.000.000.001",
		"0x7f.1", "0X7F.0.0.1", "1.2.3.4.5", "example.com", "example.123", "a.0x", "0x", "08.1.1.1", "1e2", "localhost.",
		"::ffff:127.0.0.1", "fe80::1%eth0", "4294967296", "00000000000000000000127.0.0.1", ""} {
		f.Add(byte(0), byte(0), byte(0), byte(0), uint8(0), h)
	}
	deny := NewGuard(nil)
	f.Fuzz(func(t *testing.T, b0, b1, b2, b3, pad uint8, host string) {
		a := netip.AddrFrom4([4]byte{b0, b1, b2, b3})
		if deny.Check(a) != nil {
			for _, form := range numericForms(a, pad) {
				if !refusedHost(deny, form) {
					t.Fatalf("%v is refused, but the host %q, the same address, is not", a, form)
				}
			}
		}
		name := strings.TrimSuffix(host, ".")
		if name == "" {
			return
		}
		labels := strings.Split(name, ".")
		if _, err := netip.ParseAddr(host); err != nil && numericLabel(labels[len(labels)-1]) {
			if err := checkNumericHost(host); !errors.Is(err, ErrBlocked) {
				t.Fatalf("checkNumericHost(%q) = %v; want a refusal, the host ends in a number", host, err)
			}
		}
		// What the numeric check says the system resolver reads is the address the same
		// text names in its plain form.
		if v, ok := inetAton(labels); ok && numericLabel(labels[len(labels)-1]) && deny.Check(v) != nil && !refusedHost(deny, host) {
			t.Fatalf("host %q reads as %v, which is refused, but the host is not", host, v)
		}
	})
}

// FuzzConnectionURL checks the URL check of a connection's base and endpoint URLs: an
// accepted URL is absolute, carries no credentials or fragment, and is https, or http only
// to an address inside ALLOWED_CIDRS (localhost only when loopback is allowed).
func FuzzConnectionURL(f *testing.F) {
	for _, s := range []string{
		"https://api.example.com/v1", "https://api.example.com:8443/", "http://api.example.com/", "http://127.0.0.1:8080/",
		"http://localhost:9000/", "http://LOCALHOST/", "http://localhost./", "http://[::1]:80/", "http://[::ffff:127.0.0.1]/",
		"http://[::ffff:7f00:1]/", "http://127.1/", "http://2130706433/", "http://0x7f000001/", "http://10.0.0.1/",
		"http://192.0.2.10/", "http://[fe80::1%25eth0]/", "https://user:pass@api.example.com/", "https://api.example.com/#x",
		"ftp://example.com/", "//example.com/", "/relative", "https:opaque", "https://", "HTTPS://API.EXAMPLE.COM/",
		"http://127.0.0.1%2f@evil/", "http://[::1]%2f/", "https://exa mple.com/", "http://0.0.0.0/", "http://[::]/",
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
		f.Add(s, uint8(2))
	}
	allows := [][]netip.Prefix{
		nil,
		{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		{netip.MustParsePrefix("192.0.2.0/24")},
	}
	f.Fuzz(func(t *testing.T, raw string, which uint8) {
		allow := allows[int(which)%len(allows)]
		s := &Service{opts: Options{AllowedCIDRs: allow}, guard: NewGuard(allow)}
		if s.checkURL(raw) != "" {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || u.Opaque != "" || u.User != nil || u.Fragment != "" {
			t.Fatalf("checkURL(%q) accepted a URL that is not absolute or carries credentials or a fragment", raw)
		}
		switch u.Scheme {
		case "https":
			return
		case "http":
		default:
			t.Fatalf("checkURL(%q) accepted scheme %q", raw, u.Scheme)
		}
		host := u.Hostname()
		if strings.EqualFold(host, "localhost") {
			if s.guard.Check(netip.MustParseAddr("127.0.0.1")) != nil {
				t.Fatalf("checkURL(%q) accepted plain http to localhost without loopback allowed", raw)
			}
			return
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			t.Fatalf("checkURL(%q) accepted plain http to %q, which is not an address", raw, host)
		}
		inside := false
		for _, p := range allow {
			inside = inside || p.Contains(a.Unmap())
		}
		if !inside || s.guard.Check(a) != nil {
			t.Fatalf("checkURL(%q) accepted plain http to %v, outside ALLOWED_CIDRS %v", raw, a, allow)
		}
	})
}
