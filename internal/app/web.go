package app

import (
	"net/http"
	"slices"
	"strings"

	"github.com/liaison/liaison/internal/api"
	"github.com/liaison/liaison/internal/ui"
)

// apiPaths are, with everything under /v1/, what the web process hands
// to the API; everything else is the web UI's.
var apiPaths = []string{"/v1", "/healthz", "/readyz", "/metrics", "/openapi.json", "/oauth/callback"}

// isAPIPath reports whether the web process serves path with the API.
func isAPIPath(path string) bool {
	return strings.HasPrefix(path, "/v1/") || slices.Contains(apiPaths, path)
}

// WebHandler is the web process's one handler on LISTEN_ADDR: the API's
// paths go to the API server, as they always did, and everything else to
// the web UI. The UI reads only its session cookie, the API only its
// access tokens.
func (a *App) WebHandler() (http.Handler, error) {
	apiServer := api.New(a.APIDeps())
	web, err := ui.New(ui.Options{Users: a.Users, Connections: a.Connections, Tokens: a.Tokens,
		Hooks: a.Hooks, Calls: a.Calls, Imports: a.Imports, Jobs: a.Jobs,
		Log: a.Log.With("component", "ui"), PublicURL: a.Config.PublicURL})
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPIPath(r.URL.Path) {
			apiServer.ServeHTTP(w, r)
			return
		}
		web.ServeHTTP(w, r)
	}), nil
}
