package ui

import (
	"net/http"
)

// Editing changes the name, description and scopes; the token stays the
// same and keeps working, with the new scopes from the next request.

// integrationEdit shows the edit form, filled in.
func (h *Handler) integrationEdit(w http.ResponseWriter, r *http.Request) {
	t, ok := h.integration(w, r)
	if !ok {
		return
	}
	f := newForm(r, integrationFields...)
	f.set("name", t.Name)
	f.set("description", t.Description)
	h.render(w, r, "integration_form", "Edit "+t.Name, h.integrationEditForm(t.ID, f, t.Scopes))
}

// integrationUpdate saves the edit form, or shows it again with its
// errors and nothing saved.
func (h *Handler) integrationUpdate(w http.ResponseWriter, r *http.Request) {
	t, ok := h.integration(w, r)
	if !ok {
		return
	}
	f := newForm(r, integrationFields...)
	scopes := chosenScopes(r)
	checkScopes(f, scopes)
	if f.ok() {
		_, err := h.o.Tokens.Update(r.Context(), t.ID, integrationInput(f, scopes))
		if !fromAccess(f, err) {
			if h.tokenFound(w, r, err) {
				http.Redirect(w, r, "/integrations/"+t.ID+"?done=integration-saved", http.StatusSeeOther)
			}
			return
		}
	}
	h.renderStatus(w, r, http.StatusUnprocessableEntity, "integration_form", "Edit "+t.Name, h.integrationEditForm(t.ID, f, scopes))
}

func (h *Handler) integrationEditForm(id string, f *form, scopes []string) integrationForm {
	return newIntegrationForm(stepEdit, "/integrations/"+id+"/edit", "/integrations/"+id, f, scopes)
}

// integrationDeleteConfirm asks before deleting.
func (h *Handler) integrationDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	t, ok := h.integration(w, r)
	if !ok {
		return
	}
	h.render(w, r, "integration_confirm", "Delete "+t.Name+"?", confirmData{
		Text: []string{"Its token stops working at once: every app that uses it fails. This cannot be undone."}, Of: t.Name,
		Action: "/integrations/" + t.ID + "/delete", Button: "Delete integration", Danger: true, Back: "/integrations/" + t.ID,
	})
}

// integrationDelete deletes; its token stops working at once.
func (h *Handler) integrationDelete(w http.ResponseWriter, r *http.Request) {
	if h.tokenFound(w, r, h.o.Tokens.Delete(r.Context(), r.PathValue("id"))) {
		http.Redirect(w, r, "/integrations?done=integration-deleted", http.StatusSeeOther)
	}
}
