package api

import (
	"net/http"
	"time"

	"github.com/liaison/liaison/hooks"
	"github.com/liaison/liaison/hooks/send"
)

// replayRequest is POST /v1/hooks/{id}/replay and /v1/webhooks/{id}/replay.
type replayRequest struct {
	// Since: deliveries created at or after this time are sent again.
	Since time.Time `json:"since"`
}

func (s *Server) createHook(w http.ResponseWriter, r *http.Request) {
	replyTo(s, w, r, http.StatusCreated, s.Hooks.CreateHook)
}

func (s *Server) listHooks(w http.ResponseWriter, r *http.Request) {
	replyPage(s, w, r, s.Hooks.Hooks, func(h hooks.Hook) string { return h.ID })
}

func (s *Server) getHook(w http.ResponseWriter, r *http.Request) {
	replyByID(s, w, r, http.StatusOK, s.Hooks.Hook)
}

func (s *Server) updateHook(w http.ResponseWriter, r *http.Request) {
	replyToID(s, w, r, http.StatusOK, s.Hooks.UpdateHook)
}

func (s *Server) deleteHook(w http.ResponseWriter, r *http.Request) {
	s.replyDone(w, r, s.Hooks.DeleteHook(r.Context(), r.PathValue("id")))
}

func (s *Server) replayHook(w http.ResponseWriter, r *http.Request) {
	in, ok := body[replayRequest](s, w, r)
	if !ok {
		return
	}
	res, err := s.Hooks.Replay(r.Context(), send.TargetHook, r.PathValue("id"), in.Since)
	s.reply(w, r, http.StatusAccepted, res, err)
}

func (s *Server) testHook(w http.ResponseWriter, r *http.Request) {
	var in hooks.TryInput
	if err := decodeOptionalJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.Hooks.TryHook(r.Context(), r.PathValue("id"), in)
	s.reply(w, r, http.StatusOK, res, err)
}
