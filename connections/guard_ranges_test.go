package connections_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
)

// registryCase is one row of the IANA IPv4 and IPv6 Special-Purpose
// Address Registries (or of the design's own additions), written here
// from the registries rather than from the guard's table, with an address
// inside it that no narrower row holds.
type registryCase struct {
	block, addr string
	refused     bool
}

var registryCases = []registryCase{
	// IPv4 Special-Purpose Address Registry.
	{"0.0.0.0/8", "0.1.2.3", true},              // "This network", False
	{"0.0.0.0/32", "0.0.0.0", true},             // "This host on this network", False
	{"10.0.0.0/8", "10.20.30.40", true},         // Private-Use, False
	{"100.64.0.0/10", "100.100.100.200", true},  // Shared Address Space, False (Alibaba Cloud's metadata address)
	{"127.0.0.0/8", "127.0.0.1", true},          // Loopback, False
	{"169.254.0.0/16", "169.254.169.254", true}, // Link Local, False
	{"172.16.0.0/12", "172.20.0.1", true},       // Private-Use, False
	{"192.0.0.0/24", "192.0.0.100", true},       // IETF Protocol Assignments, False
	{"192.0.0.0/24", "192.0.0.11", true},        // beside the two reachable /32s inside it
	{"192.0.0.0/29", "192.0.0.1", true},         // IPv4 Service Continuity Prefix, False
	{"192.0.0.8/32", "192.0.0.8", true},         // IPv4 dummy address, False
	{"192.0.0.9/32", "192.0.0.9", false},        // Port Control Protocol Anycast, True
	{"192.0.0.10/32", "192.0.0.10", false},      // Traversal Using Relays around NAT Anycast, True
	{"192.0.0.170/31", "192.0.0.170", true},     // NAT64/DNS64 Discovery, False
	{"192.0.0.170/31", "192.0.0.171", true},
	{"192.0.2.0/24", "192.0.2.1", true},             // Documentation (TEST-NET-1), False
	{"192.31.196.0/24", "192.31.196.1", false},      // AS112-v4, True
	{"192.52.193.0/24", "192.52.193.1", false},      // AMT, True
	{"192.88.99.0/24", "192.88.99.1", true},         // Deprecated (6to4 Relay Anycast), terminated
	{"192.88.99.2/32", "192.88.99.2", true},         // 6a44-relay anycast address, False
	{"192.168.0.0/16", "192.168.1.1", true},         // Private-Use, False
	{"192.175.48.0/24", "192.175.48.6", false},      // Direct Delegation AS112 Service, True
	{"198.18.0.0/15", "198.19.255.255", true},       // Benchmarking, False
	{"198.51.100.0/24", "198.51.100.7", true},       // Documentation (TEST-NET-2), False
	{"203.0.113.0/24", "203.0.113.9", true},         // Documentation (TEST-NET-3), False
	{"240.0.0.0/4", "240.0.0.1", true},              // Reserved, False
	{"255.255.255.255/32", "255.255.255.255", true}, // Limited Broadcast, False
	{"224.0.0.0/4", "239.255.255.250", true},        // design: multicast

	// IPv6 Special-Purpose Address Registry.
	{"::1/128", "::1", true},                       // Loopback Address, False
	{"::/128", "::", true},                         // Unspecified Address, False
	{"::ffff:0:0/96", "::ffff:8.8.8.8", false},     // IPv4-mapped Address, False: the IPv4 address decides (TestEmbeddedIPv4Forms)
	{"64:ff9b::/96", "64:ff9b::808:808", false},    // IPv4-IPv6 Translat., True
	{"64:ff9b:1::/48", "64:ff9b:1::808:808", true}, // IPv4-IPv6 Translat., False
	{"100::/64", "100::1", true},                   // Discard-Only Address Block, False
	{"100:0:0:1::/64", "100:0:0:1::1", true},       // Dummy IPv6 Prefix, False
	{"2001::/23", "2001:100::1", true},             // IETF Protocol Assignments, False
	{"2001::/23", "2001:1::4", true},               // beside the three reachable /128s inside it
	// TEREDO, N/A: server 65.54.227.120, client 8.8.8.8 (inverted), both public.
	{"2001::/32", "2001:0:4136:e378::f7f7:f7f7", true},
	{"2001:1::1/128", "2001:1::1", false},           // Port Control Protocol Anycast, True
	{"2001:1::2/128", "2001:1::2", false},           // Traversal Using Relays around NAT Anycast, True
	{"2001:1::3/128", "2001:1::3", false},           // DNS-SD Service Registration Protocol Anycast, True
	{"2001:2::/48", "2001:2::1", true},              // Benchmarking, False
	{"2001:3::/32", "2001:3::1", false},             // AMT, True
	{"2001:4:112::/48", "2001:4:112::1", false},     // AS112-v6, True
	{"2001:10::/28", "2001:10::1", true},            // Deprecated (previously ORCHID), terminated
	{"2001:20::/28", "2001:20::1", false},           // ORCHIDv2, True
	{"2001:30::/28", "2001:30::1", false},           // Drone Remote ID Protocol Entity Tags, True
	{"2001:db8::/32", "2001:db8::1", true},          // Documentation, False
	{"2002::/16", "2002:808:808::1", false},         // 6to4, N/A: the IPv4 address decides
	{"2620:4f:8000::/48", "2620:4f:8000::1", false}, // Direct Delegation AS112 Service, True
	{"3fff::/20", "3fff:fff::1", true},              // Documentation, False
	{"5f00::/16", "5f00:1::1", true},                // Segment Routing (SRv6) SIDs, False
	{"fc00::/7", "fd00:ec2::254", true},             // Unique-Local, False (AWS metadata over IPv6)
	{"fe80::/10", "fe80::1", true},                  // Link-Local Unicast, False
	{"fe80::/10", "fe80::1%eth0", true},
	{"::/96", "::8.8.8.8", true},                  // design: IPv4-compatible, deprecated
	{"::ffff:0:0:0/96", "::ffff:0:808:808", true}, // design: SIIT IPv4-translated
	{"fec0::/10", "fec0::1", true},                // design: site-local, deprecated
	{"ff00::/8", "ff02::1", true},                 // design: multicast
}

// TestEveryRegistryRow checks one address inside every row of the special
// registries: refused with the row named in the error when the row is not
// globally reachable, let through when it is. The guard's table and these
// cases must name the same blocks.
func TestEveryRegistryRow(t *testing.T) {
	t.Parallel()
	g := connections.NewGuard(nil)
	for _, tc := range registryCases {
		t.Run(tc.addr, func(t *testing.T) {
			t.Parallel()
			addr := netip.MustParseAddr(tc.addr)
			require.True(t, netip.MustParsePrefix(tc.block).Contains(addr.WithZone("")), "the case's address is inside its block")
			err := g.Check(addr)
			if !tc.refused {
				require.NoError(t, err)
				return
			}
			be := requireBlocked(t, err, tc.block)
			require.Equal(t, addr, be.Addr)
			require.NotEmpty(t, be.Reason)
		})
	}

	cases := map[netip.Prefix]bool{}
	for _, tc := range registryCases {
		cases[netip.MustParsePrefix(tc.block)] = tc.refused
	}
	rows := map[netip.Prefix]bool{}
	for _, r := range connections.SpecialRanges() {
		require.NotContains(t, rows, r.Prefix, "a block is in the table once")
		rows[r.Prefix] = r.Refuse
		refused, ok := cases[r.Prefix]
		require.True(t, ok, "the table's row %v has a case here", r.Prefix)
		require.Equal(t, refused, r.Refuse, "the table and the registry agree on %v", r.Prefix)
	}
	for block := range cases {
		require.Contains(t, rows, block, "the registry's row %v is in the guard's table", block)
	}
}

// The IPv6 forms that carry an IPv4 address: each builds the form of v4.
var embeddedForms = []struct {
	name  string
	block string // the form's own row
	build func(v4 [4]byte) string
	// public says the form of a public IPv4 address is let through.
	public bool
	// openedByIPv4 says ALLOWED_CIDRS naming the IPv4 address opens the form.
	openedByIPv4 bool
}{
	{"IPv4-mapped", "::ffff:0:0/96", func(b [4]byte) string { return fmt.Sprintf("::ffff:%d.%d.%d.%d", b[0], b[1], b[2], b[3]) }, true, true},
	{"SIIT IPv4-translated", "::ffff:0:0:0/96", func(b [4]byte) string { return fmt.Sprintf("::ffff:0:%02x%02x:%02x%02x", b[0], b[1], b[2], b[3]) }, false, true},
	{"NAT64", "64:ff9b::/96", func(b [4]byte) string { return fmt.Sprintf("64:ff9b::%02x%02x:%02x%02x", b[0], b[1], b[2], b[3]) }, true, true},
	{"local-use NAT64", "64:ff9b:1::/48", func(b [4]byte) string { return fmt.Sprintf("64:ff9b:1::%02x%02x:%02x%02x", b[0], b[1], b[2], b[3]) }, false, true},
	{"6to4", "2002::/16", func(b [4]byte) string { return fmt.Sprintf("2002:%02x%02x:%02x%02x::1", b[0], b[1], b[2], b[3]) }, true, true},
	// The client's address is stored inverted; the server here is public (65.54.227.120).
	{"Teredo", "2001::/32", func(b [4]byte) string {
		return fmt.Sprintf("2001:0:4136:e378:8000:63bf:%02x%02x:%02x%02x", ^b[0], ^b[1], ^b[2], ^b[3])
	}, false, false},
	// The server's address; the client is public (8.8.8.8).
	{"Teredo", "2001::/32", func(b [4]byte) string {
		return fmt.Sprintf("2001:0:%02x%02x:%02x%02x::f7f7:f7f7", b[0], b[1], b[2], b[3])
	}, false, false},
	{"IPv4-compatible", "::/96", func(b [4]byte) string { return fmt.Sprintf("::%02x%02x:%02x%02x", b[0], b[1], b[2], b[3]) }, false, true},
}

// TestEmbeddedIPv4Forms wraps an address of every refused IPv4 row in every
// IPv6 form that carries one: each is refused, naming the IPv4 block and
// the form. Wrapping a public address is let through where the form really
// reaches it (mapped, NAT64, 6to4) and refused with the form's own block
// otherwise.
func TestEmbeddedIPv4Forms(t *testing.T) {
	t.Parallel()
	g := connections.NewGuard(nil)
	for _, form := range embeddedForms {
		for _, tc := range registryCases {
			v4 := netip.MustParseAddr(tc.addr)
			if !v4.Is4() || !tc.refused {
				continue
			}
			addr := netip.MustParseAddr(form.build(v4.As4()))
			if addr == netip.IPv6Unspecified() {
				continue // ::0.0.0.0 is ::, a row of its own
			}
			be := requireBlocked(t, g.Check(addr), tc.block)
			require.Equal(t, addr, be.Addr)
			require.Contains(t, be.Reason, fmt.Sprintf("%s form of %v", form.name, v4), addr)
		}
		for _, public := range []string{"8.8.8.8", "93.184.215.14", "192.0.0.9"} {
			addr := netip.MustParseAddr(form.build(netip.MustParseAddr(public).As4()))
			err := g.Check(addr)
			if form.public {
				require.NoError(t, err, "%v (%s form of %s)", addr, form.name, public)
			} else {
				requireBlocked(t, err, form.block)
			}
		}
	}

	// The address that reached a listener in the probe: SIIT's form of the
	// metadata address.
	require.EqualError(t, g.Check(netip.MustParseAddr("::ffff:0:a9fe:a9fe")),
		"address ::ffff:0:a9fe:a9fe is in 169.254.0.0/16 (link-local, cloud metadata; SIIT IPv4-translated form of 169.254.169.254); set ALLOWED_CIDRS to allow it")
}

// TestAllowedCIDRsOpenEachRow: ALLOWED_CIDRS naming a refused block lets
// its address through and nothing else; naming an IPv4 block opens the
// IPv6 forms of its addresses too, except Teredo's, whose dialed address is
// neither the client nor the server.
func TestAllowedCIDRsOpenEachRow(t *testing.T) {
	t.Parallel()
	for _, tc := range registryCases {
		if !tc.refused {
			continue
		}
		block := netip.MustParsePrefix(tc.block)
		g := connections.NewGuard([]netip.Prefix{block})
		require.NoError(t, g.Check(netip.MustParseAddr(tc.addr)), "%s opened by %s", tc.addr, tc.block)
		// Another refused row stays refused.
		other := "127.0.0.1"
		if block.Contains(netip.MustParseAddr(other)) {
			other = "10.0.0.1"
		}
		require.Error(t, g.Check(netip.MustParseAddr(other)), "%s with only %s allowed", other, tc.block)
		if !block.Contains(netip.MustParseAddr("fd00::1")) {
			require.ErrorIs(t, g.Check(netip.MustParseAddr("fd00::1")), connections.ErrBlocked)
		}

		v4 := netip.MustParseAddr(tc.addr)
		if !v4.Is4() {
			continue
		}
		for _, form := range embeddedForms {
			addr := netip.MustParseAddr(form.build(v4.As4()))
			if addr == netip.IPv6Unspecified() {
				continue // ::0.0.0.0 is ::, a row of its own
			}
			err := g.Check(addr)
			if form.openedByIPv4 {
				require.NoError(t, err, "%v (%s form of %v) with %s allowed", addr, form.name, v4, tc.block)
			} else {
				require.ErrorIs(t, err, connections.ErrBlocked, "%v (%s form of %v) with %s allowed", addr, form.name, v4, tc.block)
			}
		}
	}

	// The IPv6 form named in ALLOWED_CIDRS opens just that.
	g := connections.NewGuard([]netip.Prefix{netip.MustParsePrefix("::ffff:0:0:0/96")})
	require.NoError(t, g.Check(netip.MustParseAddr("::ffff:0:a9fe:a9fe")))
	requireBlocked(t, g.Check(netip.MustParseAddr("169.254.169.254")), "169.254.0.0/16")
	requireBlocked(t, g.Check(netip.MustParseAddr("::ffff:169.254.169.254")), "169.254.0.0/16")
}
