package connections

import (
	"crypto/tls"
	"crypto/x509"
)

// TrustRoots makes the outbound transport trust pool, so that tests can
// reach httptest's TLS servers; production uses the system's roots.
func (s *Service) TrustRoots(pool *x509.CertPool) {
	s.base.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}
