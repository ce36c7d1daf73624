package ui

import (
	"net/http"

	"github.com/liaison/liaison/internal/access"
)

// The create screen is HighLevel's two steps on one address: step 1 the
// basic info (name and description), step 2 the scopes, then the token
// shown once. Each step's values travel in hidden fields of the other, so
// Back and Next keep what was typed; nothing is saved before Create.

// integrationNew shows step 1, empty.
func (h *Handler) integrationNew(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, "integration_form", "Create new integration",
		newIntegrationForm(stepInfo, "/integrations/new", "/integrations", newForm(r, integrationFields...), nil))
}

// integrationCreate moves between the steps (the button's step: "info"
// is Back, "scopes" Next) and, at "create", makes the integration and
// shows its token once.
func (h *Handler) integrationCreate(w http.ResponseWriter, r *http.Request) {
	f := newForm(r, integrationFields...)
	scopes := chosenScopes(r)
	in := integrationInput(f, scopes)
	show := func(status int, step string) {
		h.renderStatus(w, r, status, "integration_form", "Create new integration",
			newIntegrationForm(step, "/integrations/new", "/integrations", f, scopes))
	}
	switch r.PostFormValue("step") {
	case stepScopes:
		if fromAccess(f, access.Input{Name: in.Name, Description: in.Description}.Check()) {
			show(http.StatusUnprocessableEntity, stepInfo)
			return
		}
		show(http.StatusOK, stepScopes)
	case "create":
		checkScopes(f, scopes)
		if !f.ok() {
			show(http.StatusUnprocessableEntity, stepScopes)
			return
		}
		s, _ := current(r)
		issued, err := h.o.Tokens.Create(r.Context(), in, access.ByUser(s.User.Email))
		if fromAccess(f, err) {
			step := stepScopes
			if _, bad := f.errs["name"]; bad {
				step = stepInfo
			} else if _, bad := f.errs["description"]; bad {
				step = stepInfo
			}
			show(http.StatusUnprocessableEntity, step)
			return
		}
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		h.showToken(w, r, issued, "Your integration is created.")
	default: // Back
		show(http.StatusOK, stepInfo)
	}
}

// tokenData is the data of integration_token.html: a secret shown once.
type tokenData struct {
	ID, Name, Secret string
	// Notes say what just happened, in plain words.
	Notes []string
}

// showToken shows a secret just issued, the one time it is shown: the
// page is no-store like every page, and its script replaces the address
// with the integration's own, so that reloading shows that page instead
// of the secret (and does not send the form again).
func (h *Handler) showToken(w http.ResponseWriter, r *http.Request, issued access.Issued, notes ...string) {
	h.render(w, r, "integration_token", "Copy your token", tokenData{ID: issued.ID, Name: issued.Name, Secret: issued.Secret, Notes: notes})
}
