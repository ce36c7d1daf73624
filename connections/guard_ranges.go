package connections

import "net/netip"

// embed says where a range carries an IPv4 address, so the guard judges the
// IPv4 destination rather than the IPv6 wrapping.
type embed int

const (
	embedNone   embed = iota
	embedLow32        // the last 32 bits: mapped, translated, NAT64, IPv4-compatible
	embed6to4         // bits 16-47: 6to4 2002::/16
	embedTeredo       // the server in bits 32-63, the client in bits 96-127 inverted
)

// blockedRange is one row of specialRanges.
type blockedRange struct {
	prefix netip.Prefix
	// reason says what the range is, in the error that refuses it.
	reason string
	// refuse is the guard's answer for an address in the range when no
	// embedded IPv4 address decides: false for blocks that are globally
	// reachable, which nest inside refused ones (192.0.0.9 in 192.0.0.0/24).
	refuse bool
	embed  embed
	// form names the embedding in errors ("NAT64 form of 10.0.0.1").
	form string
}

func refused(prefix, reason string) blockedRange {
	return blockedRange{prefix: netip.MustParsePrefix(prefix), reason: reason, refuse: true}
}

func reachable(prefix, reason string) blockedRange {
	return blockedRange{prefix: netip.MustParsePrefix(prefix), reason: reason}
}

func embeds(prefix, reason string, refuse bool, e embed, form string) blockedRange {
	return blockedRange{prefix: netip.MustParsePrefix(prefix), reason: reason, refuse: refuse, embed: e, form: form}
}

// specialRanges is the guard's one table: every row of the IANA IPv4 and
// IPv6 Special-Purpose Address Registries (iana-ipv4-special-registry,
// iana-ipv6-special-registry, as updated in 2025), each named in its
// comment with the registry's name, RFC and "Globally Reachable" value,
// plus the rows marked "design" that docs/DESIGN.md ("Outbound requests")
// refuses beyond them.
//
// The most specific row that holds an address decides (lookup), as the
// registries' footnotes say ("not usable unless by virtue of a more
// specific reservation"): 192.0.0.9 is let through inside the refused
// 192.0.0.0/24. Rows that the registry marks False are refused. Rows it
// marks N/A or leaves empty (blocks that were terminated) are refused too,
// except 6to4, whose embedded IPv4 address decides; an address that embeds
// an IPv4 address is refused when that IPv4 address is, whatever its row
// says. ALLOWED_CIDRS opens any of them. The table is never written after
// init.
var specialRanges = []blockedRange{
	// IPv4 Special-Purpose Address Registry.

	// "This network", RFC 791 §3.2; Globally Reachable: False.
	refused("0.0.0.0/8", `unspecified, "this network", RFC 791`),
	// "This host on this network", RFC 1122 §3.2.1.3; Globally Reachable:
	// False. On Linux a connect to 0.0.0.0 reaches the local host.
	refused("0.0.0.0/32", "unspecified, reaches the local host, RFC 1122"),
	// Private-Use, RFC 1918; Globally Reachable: False.
	refused("10.0.0.0/8", "private network, RFC 1918"),
	// Shared Address Space, RFC 6598; Globally Reachable: False.
	refused("100.64.0.0/10", "carrier-grade NAT, RFC 6598"),
	// Loopback, RFC 1122 §3.2.1.3; Globally Reachable: False.
	refused("127.0.0.0/8", "loopback"),
	// Link Local, RFC 3927; Globally Reachable: False. 169.254.169.254 is
	// the cloud metadata service (AWS, GCP, Azure, OpenStack).
	refused("169.254.0.0/16", "link-local, cloud metadata"),
	// Private-Use, RFC 1918; Globally Reachable: False.
	refused("172.16.0.0/12", "private network, RFC 1918"),
	// IETF Protocol Assignments, RFC 6890 §2.1; Globally Reachable: False.
	refused("192.0.0.0/24", "IETF protocol assignments, RFC 6890"),
	// IPv4 Service Continuity Prefix, RFC 7335; Globally Reachable: False.
	refused("192.0.0.0/29", "IPv4 service continuity (DS-Lite), RFC 7335"),
	// IPv4 dummy address, RFC 7600; Globally Reachable: False.
	refused("192.0.0.8/32", "IPv4 dummy address, RFC 7600"),
	// Port Control Protocol Anycast, RFC 7723; Globally Reachable: True.
	reachable("192.0.0.9/32", "Port Control Protocol anycast, RFC 7723"),
	// Traversal Using Relays around NAT Anycast, RFC 8155; Globally
	// Reachable: True.
	reachable("192.0.0.10/32", "TURN anycast, RFC 8155"),
	// NAT64/DNS64 Discovery, RFC 8880 and RFC 7050 §2.2; Globally
	// Reachable: False. The registry lists 192.0.0.170/32 and
	// 192.0.0.171/32 in one row.
	refused("192.0.0.170/31", "NAT64/DNS64 discovery, RFC 8880"),
	// Documentation (TEST-NET-1), RFC 5737; Globally Reachable: False.
	refused("192.0.2.0/24", "documentation, TEST-NET-1, RFC 5737"),
	// AS112-v4, RFC 7535; Globally Reachable: True.
	reachable("192.31.196.0/24", "AS112-v4, RFC 7535"),
	// AMT, RFC 7450; Globally Reachable: True.
	reachable("192.52.193.0/24", "AMT, RFC 7450"),
	// Deprecated (6to4 Relay Anycast), RFC 7526; terminated 2015-03, its
	// Globally Reachable left empty: refused, nothing serves HTTP there and
	// the anycast leads to whichever relay is nearest.
	refused("192.88.99.0/24", "deprecated 6to4 relay anycast, RFC 7526"),
	// 6a44-relay anycast address, RFC 6751; Globally Reachable: False.
	refused("192.88.99.2/32", "6a44 relay anycast, RFC 6751"),
	// Private-Use, RFC 1918; Globally Reachable: False.
	refused("192.168.0.0/16", "private network, RFC 1918"),
	// Direct Delegation AS112 Service, RFC 7534; Globally Reachable: True.
	reachable("192.175.48.0/24", "AS112 direct delegation, RFC 7534"),
	// Benchmarking, RFC 2544; Globally Reachable: False.
	refused("198.18.0.0/15", "benchmarking, RFC 2544"),
	// Documentation (TEST-NET-2), RFC 5737; Globally Reachable: False.
	refused("198.51.100.0/24", "documentation, TEST-NET-2, RFC 5737"),
	// Documentation (TEST-NET-3), RFC 5737; Globally Reachable: False.
	refused("203.0.113.0/24", "documentation, TEST-NET-3, RFC 5737"),
	// Reserved, RFC 1112 §4; Globally Reachable: False.
	refused("240.0.0.0/4", "reserved, RFC 1112"),
	// Limited Broadcast, RFC 8190 and RFC 919 §7; Globally Reachable: False.
	refused("255.255.255.255/32", "limited broadcast, RFC 919"),

	// design: IPv4 multicast, RFC 5771 (the IANA multicast registry, not
	// the special-purpose one); not a destination for TCP.
	refused("224.0.0.0/4", "multicast, RFC 5771"),

	// IPv6 Special-Purpose Address Registry.

	// Loopback Address, RFC 4291; Globally Reachable: False.
	refused("::1/128", "loopback"),
	// Unspecified Address, RFC 4291; Globally Reachable: False. On Linux a
	// connect to :: reaches the local host.
	refused("::/128", "unspecified"),
	// IPv4-mapped Address, RFC 4291; Globally Reachable: False. Never an
	// IPv6 destination on the wire: a socket given ::ffff:a.b.c.d connects
	// to the IPv4 address a.b.c.d, so that address decides.
	embeds("::ffff:0:0/96", "IPv4-mapped address, RFC 4291", false, embedLow32, "IPv4-mapped"),
	// IPv4-IPv6 Translat., RFC 6052; Globally Reachable: True. The
	// well-known NAT64 prefix reaches the IPv4 internet from IPv6-only
	// networks, so the embedded IPv4 address decides.
	embeds("64:ff9b::/96", "NAT64, RFC 6052", false, embedLow32, "NAT64"),
	// IPv4-IPv6 Translat., RFC 8215; Globally Reachable: False. A
	// network's own NAT64 prefix; its IPv4 address is read from the last
	// 32 bits (the usual /96 inside it) to name what it leads to.
	embeds("64:ff9b:1::/48", "local-use NAT64, RFC 8215", true, embedLow32, "local-use NAT64"),
	// Discard-Only Address Block, RFC 6666; Globally Reachable: False.
	refused("100::/64", "discard-only, RFC 6666"),
	// Dummy IPv6 Prefix, RFC 9780; Globally Reachable: False.
	refused("100:0:0:1::/64", "dummy IPv6 prefix, RFC 9780"),
	// IETF Protocol Assignments, RFC 2928; Globally Reachable: False
	// ("unless allowed by a more specific allocation").
	refused("2001::/23", "IETF protocol assignments, RFC 2928"),
	// TEREDO, RFC 4380 and RFC 8190; Globally Reachable: N/A. Refused: it
	// tunnels through whichever relay is nearest, the service is gone, and
	// it sits inside 2001::/23. Its embedded server and client IPv4
	// addresses are read to name what they lead to.
	embeds("2001::/32", "Teredo tunnelling, RFC 4380", true, embedTeredo, "Teredo"),
	// Port Control Protocol Anycast, RFC 7723; Globally Reachable: True.
	reachable("2001:1::1/128", "Port Control Protocol anycast, RFC 7723"),
	// Traversal Using Relays around NAT Anycast, RFC 8155; Globally
	// Reachable: True.
	reachable("2001:1::2/128", "TURN anycast, RFC 8155"),
	// DNS-SD Service Registration Protocol Anycast, RFC 9665; Globally
	// Reachable: True.
	reachable("2001:1::3/128", "DNS-SD SRP anycast, RFC 9665"),
	// Benchmarking, RFC 5180 (errata 1752); Globally Reachable: False.
	refused("2001:2::/48", "benchmarking, RFC 5180"),
	// AMT, RFC 7450; Globally Reachable: True.
	reachable("2001:3::/32", "AMT, RFC 7450"),
	// AS112-v6, RFC 7535; Globally Reachable: True.
	reachable("2001:4:112::/48", "AS112-v6, RFC 7535"),
	// Deprecated (previously ORCHID), RFC 4843; terminated 2014-03, its
	// Globally Reachable left empty: refused, ORCHIDs are identifiers that
	// are not routed.
	refused("2001:10::/28", "deprecated ORCHID, RFC 4843"),
	// ORCHIDv2, RFC 7343; Globally Reachable: True.
	reachable("2001:20::/28", "ORCHIDv2, RFC 7343"),
	// Drone Remote ID Protocol Entity Tags (DETs) Prefix, RFC 9374;
	// Globally Reachable: True.
	reachable("2001:30::/28", "drone remote ID tags, RFC 9374"),
	// Documentation, RFC 3849; Globally Reachable: False.
	refused("2001:db8::/32", "documentation, RFC 3849"),
	// 6to4, RFC 3056; Globally Reachable: N/A. A 6to4 address with a
	// public IPv4 address inside is a real, relayed destination, so the
	// embedded IPv4 address decides.
	embeds("2002::/16", "6to4, RFC 3056", false, embed6to4, "6to4"),
	// Direct Delegation AS112 Service, RFC 7534; Globally Reachable: True.
	reachable("2620:4f:8000::/48", "AS112 direct delegation, RFC 7534"),
	// Documentation, RFC 9637; Globally Reachable: False.
	refused("3fff::/20", "documentation, RFC 9637"),
	// Segment Routing (SRv6) SIDs, RFC 9602; Globally Reachable: False.
	refused("5f00::/16", "SRv6 segment identifiers, RFC 9602"),
	// Unique-Local, RFC 4193 and RFC 8190; Globally Reachable: False.
	// fd00:ec2::254 is the AWS metadata service over IPv6.
	refused("fc00::/7", "unique local, private network, RFC 4193"),
	// Link-Local Unicast, RFC 4291; Globally Reachable: False.
	refused("fe80::/10", "link-local"),

	// design: IPv4-compatible IPv6, deprecated by RFC 4291 §2.5.5.1 and no
	// longer in the registry; refused even when the IPv4 address inside is
	// public, which names the IPv4 block when it is not.
	embeds("::/96", "IPv4-compatible IPv6, deprecated, RFC 4291", true, embedLow32, "IPv4-compatible"),
	// design: SIIT IPv4-translated addresses ::ffff:0:a.b.c.d, RFC 2765
	// (obsoleted by RFC 6145, not in the registry): a translator would
	// carry them to the IPv4 address inside. Refused even when it is
	// public.
	embeds("::ffff:0:0:0/96", "SIIT IPv4-translated address, RFC 2765", true, embedLow32, "SIIT IPv4-translated"),
	// design: site-local, deprecated by RFC 3879; still routed inside some
	// networks.
	refused("fec0::/10", "site-local, deprecated, RFC 3879"),
	// design: IPv6 multicast, RFC 4291; not a destination for TCP.
	refused("ff00::/8", "multicast, RFC 4291"),
}
