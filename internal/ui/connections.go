package ui

import (
	"fmt"
	"net/http"
	"time"

	"github.com/liaison/liaison/connections"
	"github.com/liaison/liaison/internal/invalid"
)

// connectionsData is the list screen's: a page of connections (of Type,
// when the filter is set), the cursor of the next and the filter's tabs.
type connectionsData struct {
	Connections []connectionRow
	Next, Type  string
	Tabs        []typeTab
}

// typeTab is one choice of the list's type filter ("" for all).
type typeTab struct {
	ID, Name string
	Current  bool
}

// connectionRow is one connection as the list and its page show it, in
// plain words.
type connectionRow struct {
	connections.View
	Type   string
	Status string
	// Badge is the status badge's style: "ok", "waiting", "problem".
	Badge string
}

// authTypes are the auth types in plain words.
var authTypes = map[string]string{
	connections.AuthOAuth2Code:              "OAuth2 (sign in at the other service)",
	connections.AuthOAuth2ClientCredentials: "OAuth2 (client credentials)",
	connections.AuthBearer:                  "Bearer token",
	connections.AuthAPIKey:                  "API key",
}

// rowOf is v in plain words: its type and status badge.
func rowOf(v connections.View) connectionRow {
	row := connectionRow{View: v, Type: authTypes[v.AuthType]}
	switch v.Status {
	case connections.StatusConnected:
		row.Status, row.Badge = "Connected", "ok"
	case connections.StatusNeedsReauth:
		row.Status, row.Badge = "Needs reconnection", "problem"
	default:
		row.Status, row.Badge = "Not connected yet", "waiting"
	}
	return row
}

// OAuth reports whether the connection has a token from a token endpoint;
// Code whether a person connects it in the browser; NeverConnected whether
// it was never authorized (Connect rather than Reconnect).
func (c connectionRow) OAuth() bool          { return connections.IsOAuth(c.AuthType) }
func (c connectionRow) Code() bool           { return c.AuthType == connections.AuthOAuth2Code }
func (c connectionRow) NeverConnected() bool { return c.View.Status == connections.StatusPending }

// connectionsList shows the connections, 50 a page, all or of the type
// in ?type= (kept in the URL, so a filtered list can be bookmarked).
func (h *Handler) connectionsList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	authType := q.Get("type")
	views, next, err := h.o.Connections.List(r.Context(), q.Get("after"), 50, authType)
	if _, bad := invalid.As(err); bad {
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := connectionsData{Next: next, Type: authType, Tabs: []typeTab{{Name: "All", Current: authType == ""}}}
	for _, t := range connections.AuthTypes() {
		data.Tabs = append(data.Tabs, typeTab{ID: t, Name: authTypes[t], Current: t == authType})
	}
	for _, v := range views {
		data.Connections = append(data.Connections, rowOf(v))
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

// until is the template function {{until .NextRefreshAt}}: "in 5
// minutes", "in 3 hours", then the date; "within a minute" once it is due
// (the sweep that refreshes tokens runs every minute).
func (h *Handler) until(t time.Time) string {
	d := t.Sub(h.o.Now())
	switch {
	case d < time.Minute:
		return "within a minute"
	case d < time.Hour:
		return "in " + plural(int(d.Minutes()), "minute")
	case d < 24*time.Hour:
		return "in " + plural(int(d.Hours()), "hour")
	}
	return "on " + t.UTC().Format("2 Jan 2006")
}

// at is the template function {{at .PausedAt}}: the time to the minute,
// in UTC.
func at(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") }

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
