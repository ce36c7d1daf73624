package api

import (
	"context"
	"net/http"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/send"
)

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	replyTo(s, w, r, http.StatusCreated, s.Hooks.CreateWebhook)
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	replyPage(s, w, r, s.Hooks.Webhooks, func(wh hooks.Webhook) string { return wh.ID })
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	wh, err := s.Hooks.Webhook(r.Context(), r.PathValue("id"))
	s.reply(w, r, http.StatusOK, wh, err)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	replyToID(s, w, r, http.StatusOK, s.Hooks.UpdateWebhook)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	s.replyDeleted(w, r, s.Hooks.DeleteWebhook)
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	wh, err := s.Hooks.RotateWebhookSecret(r.Context(), r.PathValue("id"))
	s.reply(w, r, http.StatusOK, wh, err)
}

func (s *Server) replayWebhook(w http.ResponseWriter, r *http.Request) {
	replyToID(s, w, r, http.StatusAccepted, func(ctx context.Context, id string, in replayRequest) (hooks.ReplayResult, error) {
		return s.Hooks.Replay(ctx, send.TargetWebhook, id, in.Since)
	})
}
