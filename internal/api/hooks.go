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
	var in hooks.HookInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.Hooks.CreateHook(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, h)
}

func (s *Server) listHooks(w http.ResponseWriter, r *http.Request) {
	cursor, limit, err := page(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hs, more, err := s.Hooks.Hooks(r.Context(), cursor, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := list[hooks.Hook]{Data: hs}
	if more {
		out.NextCursor = hs[len(hs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getHook(w http.ResponseWriter, r *http.Request) {
	h, err := s.Hooks.Hook(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) updateHook(w http.ResponseWriter, r *http.Request) {
	var in hooks.HookInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.Hooks.UpdateHook(r.Context(), r.PathValue("id"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) deleteHook(w http.ResponseWriter, r *http.Request) {
	if err := s.Hooks.DeleteHook(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) replayHook(w http.ResponseWriter, r *http.Request) {
	var in replayRequest
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.Hooks.Replay(r.Context(), send.TargetHook, r.PathValue("id"), in.Since)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

func (s *Server) testHook(w http.ResponseWriter, r *http.Request) {
	var in hooks.TryInput
	if err := decodeOptionalJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.Hooks.TryHook(r.Context(), r.PathValue("id"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
