package ui

import (
	"fmt"
	"net/http"
	"time"

	"github.com/liaison/liaison/connections"
)

// connectionsData is the list screen's: a page of connections and the
// cursor of the next.
type connectionsData struct {
	Connections []connectionRow
	Next        string
}

// connectionRow is one connection as the list shows it, in plain words.
type connectionRow struct {
	connections.View
	Type   string
	Status string
	// Badge is the status badge's style: "ok", "waiting", "problem".
	Badge string
}

// authTypes are the auth types in plain words.
var authTypes = map[string]string{
	connections.AuthOAuth2Code:              "OAuth 2.0 (sign in with the service)",
	connections.AuthOAuth2ClientCredentials: "OAuth 2.0 (client credentials)",
	connections.AuthBearer:                  "Access token",
	connections.AuthAPIKey:                  "API key",
}

// connectionsList shows the connections, 50 a page.
func (h *Handler) connectionsList(w http.ResponseWriter, r *http.Request) {
	views, next, err := h.o.Connections.List(r.Context(), r.URL.Query().Get("after"), 50)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := connectionsData{Next: next}
	for _, v := range views {
		row := connectionRow{View: v, Type: authTypes[v.AuthType]}
		switch v.Status {
		case connections.StatusConnected:
			row.Status, row.Badge = "Connected", "ok"
		case connections.StatusNeedsReauth:
			row.Status, row.Badge = "Needs reconnection", "problem"
		default:
			row.Status, row.Badge = "Not connected yet", "waiting"
		}
		data.Connections = append(data.Connections, row)
	}
	h.render(w, r, "connections", "Connections", data)
}

// ago is the template function {{ago .UpdatedAt}}: "just now", "5 minutes
// ago", "3 hours ago", then the date.
func (h *Handler) ago(t time.Time) string {
	d := h.o.Now().Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d.Hours()), "hour") + " ago"
	}
	return t.UTC().Format("2 Jan 2006")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
