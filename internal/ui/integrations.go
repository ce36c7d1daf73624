package ui

import (
	"net/http"
	"slices"
	"time"

	"github.com/liaison/liaison/internal/access"
)

// scopeLabels say each scope of access.AllScopes in plain words, for the
// checklist and the detail page.
var scopeLabels = map[string]string{
	access.ScopeConnectionsRead:  "Read connections",
	access.ScopeConnectionsWrite: "Create, change and connect connections",
	access.ScopeHooksRead:        "Read action hooks, event webhooks and deliveries",
	access.ScopeHooksWrite:       "Create and change action hooks and event webhooks",
	access.ScopeEventsWrite:      "Send events",
	access.ScopeCallsWrite:       "Call other services through connections",
	access.ScopeImportsRead:      "Read imports and their runs",
	access.ScopeImportsWrite:     "Create, change and run imports",
	access.ScopeTokensManage:     "Manage private integrations",
}

// scopeWords are a token's scopes in plain words, in access.AllScopes'
// order.
func scopeWords(scopes []string) []string {
	var out []string
	for _, s := range access.AllScopes {
		if slices.Contains(scopes, s) {
			out = append(out, scopeLabels[s])
		}
	}
	return out
}

// integrationsData is the list screen's: a page of integrations and the
// cursor of the next.
type integrationsData struct {
	Integrations []integrationRow
	Next         string
}

// integrationRow is one integration as the list shows it.
type integrationRow struct {
	ID, Name, Description          string
	CreatedOn, UpdatedAt, LastUsed string
	CreatedBy                      string
}

// integrationsList shows the private integrations, 50 a page.
func (h *Handler) integrationsList(w http.ResponseWriter, r *http.Request) {
	tokens, more, err := h.o.Tokens.List(r.Context(), r.URL.Query().Get("after"), 50)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	var data integrationsData
	for _, t := range tokens {
		data.Integrations = append(data.Integrations, integrationRow{
			ID: t.ID, Name: t.Name, Description: t.Description,
			CreatedOn: when(t.CreatedAt), UpdatedAt: when(t.UpdatedAt), LastUsed: h.lastUsed(t.LastUsedAt), CreatedBy: t.Creator,
		})
	}
	if more {
		data.Next = tokens[len(tokens)-1].ID
	}
	h.render(w, r, "integrations", "Private integrations", data)
}

// integration reads the integration of the path's {id}; on failure it has
// answered (404 for an unknown one) and reports false.
func (h *Handler) integration(w http.ResponseWriter, r *http.Request) (access.Token, bool) {
	t, err := h.o.Tokens.Get(r.Context(), r.PathValue("id"))
	return t, h.tokenFound(w, r, err)
}

// when is a moment as the lists show it: "10 Jul 2024, 16:59 UTC".
func when(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") }

// lastUsed is a last use in words: "Never", "just now", "5 minutes ago".
func (h *Handler) lastUsed(t *time.Time) string {
	if t == nil {
		return "Never"
	}
	return h.ago(*t)
}

// timeLeft is how long until t, in words, to the hour while days are
// left and to the minute after: "6 days 23 hours", "5 hours 12 minutes",
// "less than a minute".
func timeLeft(d time.Duration) string {
	days, hours, minutes := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0 && hours > 0:
		return plural(days, "day") + " " + plural(hours, "hour")
	case days > 0:
		return plural(days, "day")
	case hours > 0 && minutes > 0:
		return plural(hours, "hour") + " " + plural(minutes, "minute")
	case hours > 0:
		return plural(hours, "hour")
	case minutes > 0:
		return plural(minutes, "minute")
	}
	return "less than a minute"
}
