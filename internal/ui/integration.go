package ui

import (
	"net/http"

	"github.com/liaison/liaison/internal/access"
)

// integrationData is the detail page's.
type integrationData struct {
	access.Token
	ScopeWords                     []string
	CreatedOn, UpdatedAt, LastUsed string
	// Overlap is how long both tokens work after "rotate and expire
	// later", in words.
	Overlap  string
	Rotating *rotationView
}

// rotationView is a rotation in progress as the page shows it, so that a
// person sees whether every caller has moved before choosing Expire now.
type rotationView struct {
	// Left is the time until the new token is the only one.
	Left                     string
	NewLastUsed, OldLastUsed string
	OldHint                  string
}

// integrationPage shows one integration: what it may do, when its token
// was last used, and the rotation in progress, if any.
func (h *Handler) integrationPage(w http.ResponseWriter, r *http.Request) {
	t, ok := h.integration(w, r)
	if !ok {
		return
	}
	d := integrationData{Token: t, ScopeWords: scopeWords(t.Scopes), CreatedOn: when(t.CreatedAt), UpdatedAt: when(t.UpdatedAt),
		LastUsed: h.lastUsed(t.LastUsedAt), Overlap: timeLeft(h.o.Tokens.RotationOverlap())}
	if rt := t.Rotation; rt != nil {
		d.Rotating = &rotationView{Left: timeLeft(rt.ExpiresAt.Sub(h.o.Now())), NewLastUsed: d.LastUsed,
			OldLastUsed: h.lastUsed(rt.PreviousLastUsedAt), OldHint: rt.PreviousHint}
	}
	h.render(w, r, "integration", t.Name, d)
}
