package api

import (
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
	replyByID(s, w, r, http.StatusOK, s.Hooks.Webhook)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) {
	replyToID(s, w, r, http.StatusOK, s.Hooks.UpdateWebhook)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	s.replyDone(w, r, s.Hooks.DeleteWebhook(r.Context(), r.PathValue("id")))
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	replyByID(s, w, r, http.StatusOK, s.Hooks.RotateWebhookSecret)
}

func (s *Server) replayWebhook(w http.ResponseWriter, r *http.Request) {
	in, ok := body[replayRequest](s, w, r)
	if !ok {
		return
	}
	res, err := s.Hooks.Replay(r.Context(), send.TargetWebhook, r.PathValue("id"), in.Since)
	s.reply(w, r, http.StatusAccepted, res, err)
}
