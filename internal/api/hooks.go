package api

import (
	"context"
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
	h, err := s.Hooks.Hook(r.Context(), r.PathValue("id"))
	s.reply(w, r, http.StatusOK, h, err)
}

func (s *Server) updateHook(w http.ResponseWriter, r *http.Request) {
	replyToID(s, w, r, http.StatusOK, s.Hooks.UpdateHook)
}

func (s *Server) deleteHook(w http.ResponseWriter, r *http.Request) {
	s.replyDeleted(w, r, s.Hooks.DeleteHook)
}

func (s *Server) replayHook(w http.ResponseWriter, r *http.Request) {
	replyToID(s, w, r, http.StatusAccepted, func(ctx context.Context, id string, in replayRequest) (hooks.ReplayResult, error) {
		return s.Hooks.Replay(ctx, send.TargetHook, id, in.Since)
	})
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
