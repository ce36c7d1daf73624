package ui

import (
	"context"
	"errors"
	"net/http"

	"github.com/liaison/liaison/internal/access"
)

// Rotating follows HighLevel: "Rotate and expire this token later" or
// "... now", each after a confirmation, then the new token once; during
// the overlap, Cancel rotation or Expire now on the detail page.

// rotation is what each way to rotate says and does.
type rotation struct {
	title   string
	text    func(overlap string) []string
	now     bool
	danger  bool
	outcome func(overlap string) string
}

var rotations = map[string]rotation{
	"later": {
		title: "Rotate and expire this token later?",
		text: func(overlap string) []string {
			return []string{"You get a new token now. The current token keeps working for " + overlap +
				", so that you can put the new one everywhere the old one is used; then it stops.",
				"Until then you can cancel the rotation (the new token stops, the current one stays) or expire the current token at once."}
		},
		outcome: func(overlap string) string {
			return "Both tokens work for " + overlap + "; then only this new one does."
		},
	},
	"now": {
		title: "Rotate and expire this token now?",
		text: func(string) []string {
			return []string{"You get a new token, and the current token stops working at once: every app that uses it fails until it has the new one.",
				"Choose this when the token may have leaked."}
		},
		now: true, danger: true,
		outcome: func(string) string { return "The old token has stopped working; only this new one works." },
	},
}

// confirmData is the data of integration_confirm.html: a question before
// a change that cannot be taken back.
type confirmData struct {
	Text   []string
	Action string
	// Expire is the hidden expire field of a rotation ("" for none).
	Expire string
	Button string
	Danger bool
	// Back is the integration's page; Of its name.
	Back, Of string
}

// integrationRotateConfirm asks before rotating: ?expire=later or now.
func (h *Handler) integrationRotateConfirm(w http.ResponseWriter, r *http.Request) {
	how, ok := rotations[r.URL.Query().Get("expire")]
	if !ok {
		h.notFound(w, r)
		return
	}
	t, ok := h.integration(w, r)
	if !ok {
		return
	}
	h.render(w, r, "integration_confirm", how.title, confirmData{
		Text: how.text(timeLeft(h.o.Tokens.RotationOverlap())), Of: t.Name,
		Action: "/integrations/" + t.ID + "/rotate", Expire: r.URL.Query().Get("expire"),
		Button: "Continue", Danger: how.danger, Back: "/integrations/" + t.ID,
	})
}

// integrationRotate rotates and shows the new token once.
func (h *Handler) integrationRotate(w http.ResponseWriter, r *http.Request) {
	how, ok := rotations[r.PostFormValue("expire")]
	if !ok {
		h.notFound(w, r)
		return
	}
	issued, err := h.o.Tokens.Rotate(r.Context(), r.PathValue("id"), how.now)
	if errors.Is(err, access.ErrRotationInProgress) {
		http.Redirect(w, r, "/integrations/"+r.PathValue("id")+"?done=rotation-in-progress", http.StatusSeeOther)
		return
	}
	if !h.tokenFound(w, r, err) {
		return
	}
	h.showToken(w, r, issued, how.outcome(timeLeft(h.o.Tokens.RotationOverlap())))
}

// integrationCancelRotation ends the overlap by going back: the new token
// stops, the old one is the only one again.
func (h *Handler) integrationCancelRotation(w http.ResponseWriter, r *http.Request) {
	h.endRotation(w, r, h.o.Tokens.CancelRotation, "rotation-cancelled")
}

// integrationExpireRotation ends the overlap by going forward: the old
// token stops at once.
func (h *Handler) integrationExpireRotation(w http.ResponseWriter, r *http.Request) {
	h.endRotation(w, r, h.o.Tokens.ExpireRotation, "rotation-expired")
}

func (h *Handler) endRotation(w http.ResponseWriter, r *http.Request, end func(ctx context.Context, id string) (access.Token, error), done string) {
	_, err := end(r.Context(), r.PathValue("id"))
	if errors.Is(err, access.ErrNoRotation) { // a page from before the rotation ended
		done = "no-rotation"
	} else if !h.tokenFound(w, r, err) {
		return
	}
	http.Redirect(w, r, "/integrations/"+r.PathValue("id")+"?done="+done, http.StatusSeeOther)
}

// tokenFound reports whether err is nil; otherwise it has answered: the
// 404 page for an integration that is gone, else the 500 page.
func (h *Handler) tokenFound(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, access.ErrNotFound):
		h.notFound(w, r)
	default:
		h.serverError(w, r, err)
	}
	return false
}
