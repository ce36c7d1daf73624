package api

// RouteInfo is what tests may know of a route.
type RouteInfo struct {
	Pattern, Scope string
	Public         bool
	// TakesFields says the route decodes a request body of its own.
	TakesFields bool
}

// Routes exposes the routes table to the api_test package.
func (s *Server) Routes() []RouteInfo {
	var out []RouteInfo
	for _, r := range s.routes() {
		out = append(out, RouteInfo{Pattern: r.Pattern, Scope: r.Scope, Public: r.Public, TakesFields: r.Request != nil})
	}
	return out
}
