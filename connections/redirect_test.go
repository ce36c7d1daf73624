package connections_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/liaison/liaison/connections"
)

// sniffListener serves TLS and plain HTTP on one port, so that
// https://127.0.0.1:P and http://127.0.0.1:P are the same host, as they are
// on a real server with a redirect from one scheme to the other.
type sniffListener struct {
	net.Listener
	cfg *tls.Config
}

func (l sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(c)
	first, err := r.Peek(1)
	pc := peekedConn{Conn: c, r: r}
	if err == nil && first[0] == 0x16 { // a TLS handshake record
		return tls.Server(pc, l.cfg), nil
	}
	return pc, nil
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// seenRequest is what the landing page of a redirect got.
type seenRequest struct {
	TLS    bool
	APIKey string
	Query  string
}

// dualServer starts a server answering https and http on one port: /start
// redirects to http://same-host/landing with the same query, /landing
// records what came. It returns the port and a pool that trusts its
// certificate.
func dualServer(t *testing.T) (string, *x509.CertPool, func() []seenRequest) {
	t.Helper()
	certs := httptest.NewTLSServer(http.NotFoundHandler()) // only for its certificate (valid for 127.0.0.1)
	t.Cleanup(certs.Close)
	pool := x509.NewCertPool()
	pool.AddCert(certs.Certificate())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	var (
		mu   sync.Mutex
		seen []seenRequest
	)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/start":
			http.Redirect(w, r, "http://127.0.0.1:"+port+"/landing?"+r.URL.RawQuery, http.StatusFound)
		case "/landing":
			mu.Lock()
			seen = append(seen, seenRequest{TLS: r.TLS != nil, APIKey: r.Header.Get("X-Api-Key"), Query: r.URL.Query().Get("api_key")})
			mu.Unlock()
		}
	})}
	go func() { _ = srv.Serve(sniffListener{Listener: ln, cfg: certs.TLS.Clone()}) }()
	t.Cleanup(func() { srv.Close() })
	return port, pool, func() []seenRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]seenRequest(nil), seen...)
	}
}

// TestRedirectToPlainHTTPDropsTheAPIKey: an https answer that redirects to
// plain http on the same host must not make the API key travel in clear,
// in a header or in the query.
func TestRedirectToPlainHTTPDropsTheAPIKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	port, pool, seen := dualServer(t)
	b.svc.TrustRoots(pool)
	const key = "key-0123456789abcdef"

	for i, in := range []string{connections.APIKeyInHeader, connections.APIKeyInQuery} {
		name := map[string]string{connections.APIKeyInHeader: "X-Api-Key", connections.APIKeyInQuery: "api_key"}[in]
		c, err := b.svc.Create(t.Context(), connections.Input{
			Name: new("key in " + in), AuthType: new(connections.AuthAPIKey), BaseURL: new("https://127.0.0.1:" + port),
			APIKey: &connections.APIKeyInput{In: new(in), Name: new(name), Value: new(key)},
		})
		require.NoError(t, err)
		resp, err := b.get(t, c.ID, "/start?keep=1")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, in)
		got := seen()
		require.Len(t, got, i+1)
		require.False(t, got[i].TLS, "the redirect was followed to plain http")
		require.Empty(t, got[i].APIKey, "%s: the API key header went over plain http", in)
		require.Empty(t, got[i].Query, "%s: the API key parameter went over plain http", in)
	}
}
