package connections

import (
	"crypto/tls"
	"crypto/x509"
	"net/netip"
)

// TrustRoots makes the outbound transport trust pool, so that tests can
// reach httptest's TLS servers; production uses the system's roots.
func (s *Service) TrustRoots(pool *x509.CertPool) {
	s.base.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// SpecialRange is a row of the guard's table as tests see it.
type SpecialRange struct {
	Prefix netip.Prefix
	Refuse bool
}

// SpecialRanges lists the guard's table, so that a test can check it has
// a case for every row.
func SpecialRanges() []SpecialRange {
	out := make([]SpecialRange, 0, len(specialRanges))
	for _, b := range specialRanges {
		out = append(out, SpecialRange{Prefix: b.prefix, Refuse: b.refuse})
	}
	return out
}
