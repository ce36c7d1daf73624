package apptest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/liaison/liaison/config"
	"github.com/liaison/liaison/internal/app"
	"github.com/liaison/liaison/internal/users"
)

// WebBundle is the web process as the binary serves it (app.WebHandler:
// the API and the web UI on one handler) on an httptest server, with
// PUBLIC_URL set to that server's URL so that OAuth redirect URIs and the
// links the UI makes point back at it.
type WebBundle struct {
	*Bundle
	App *app.App
	// URL is the server's address, PUBLIC_URL.
	URL string
}

// SetupWeb starts the whole application's web handler for t, without a
// worker; cfg is the configuration (PublicURL is set here; AllowedCIDRs
// defaults to Loopback). Passwords are hashed at bcrypt's lowest cost, so
// that signing in costs a test little.
func SetupWeb(t *testing.T, cfg config.Config) *WebBundle {
	t.Helper()
	b := Setup(t)
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	cfg.PublicURL = srv.URL
	if cfg.AllowedCIDRs == nil {
		cfg.AllowedCIDRs = Loopback
	}
	a := b.OpenApp(t, app.Options{Config: cfg, Users: func(o *users.Options) { o.BcryptCost = bcrypt.MinCost }})
	h, err := a.WebHandler()
	require.NoError(t, err)
	handler = h
	b.Server = srv
	return &WebBundle{Bundle: b, App: a, URL: srv.URL}
}
