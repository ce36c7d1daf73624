package api

import (
	"net/http"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/send"
)

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var in hooks.WebhookInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	wh, err := s.Hooks.CreateWebhook(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, wh)
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	cursor, limit, err := page(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ws, more, err := s.Hooks.Webhooks(r.Context(), cursor, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := list[hooks.Webhook]{Data: ws}
	if more {
		out.NextCursor = ws[len(ws)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	wh, err := s.Hooks.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wh)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	var in hooks.WebhookInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	wh, err := s.Hooks.UpdateWebhook(r.Context(), r.PathValue("id"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wh)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if err := s.Hooks.DeleteWebhook(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	wh, err := s.Hooks.RotateWebhookSecret(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wh)
}

func (s *Server) replayWebhook(w http.ResponseWriter, r *http.Request) {
	var in replayRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.Hooks.Replay(r.Context(), send.TargetWebhook, r.PathValue("id"), in.Since)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}
