package api

import (
	"net/http"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/send"
)

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	in, ok := body[hooks.WebhookInput](s, w, r)
	if !ok {
		return
	}
	wh, err := s.Hooks.CreateWebhook(r.Context(), in)
	s.reply(w, r, http.StatusCreated, wh, err)
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	replyPage(s, w, r, s.Hooks.Webhooks, func(wh hooks.Webhook) string { return wh.ID })
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	wh, err := s.Hooks.Webhook(r.Context(), r.PathValue("id"))
	s.reply(w, r, http.StatusOK, wh, err)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	in, ok := body[hooks.WebhookInput](s, w, r)
	if !ok {
		return
	}
	wh, err := s.Hooks.UpdateWebhook(r.Context(), r.PathValue("id"), in)
	s.reply(w, r, http.StatusOK, wh, err)
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
	s.reply(w, r, http.StatusOK, wh, err)
}

func (s *Server) replayWebhook(w http.ResponseWriter, r *http.Request) {
	in, ok := body[replayRequest](s, w, r)
	if !ok {
		return
	}
	res, err := s.Hooks.Replay(r.Context(), send.TargetWebhook, r.PathValue("id"), in.Since)
	s.reply(w, r, http.StatusAccepted, res, err)
}
