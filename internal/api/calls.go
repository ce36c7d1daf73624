package api

import (
	"net/http"

	"github.com/liaison/liaison/hooks/calls"
)

// createCall is POST /v1/calls: the call is stored and queued; with wait,
// the answer waits for it to end. The answer is 200 with the result when
// the call has ended within wait (a replay of an ended call too), 202 with
// its id and state otherwise. A replay (same idempotency key, same request)
// says so in Idempotent-Replayed: true.
func (s *Server) createCall(w http.ResponseWriter, r *http.Request) {
	var in calls.CallInput
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c, replayed, err := s.Calls.Create(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if d := in.WaitFor(); d > 0 && !c.Finished() {
		if c, err = s.Calls.Wait(r.Context(), c.ID, d); err != nil {
			if r.Context().Err() != nil {
				return // the client left; nobody reads an answer
			}
			s.fail(w, r, err)
			return
		}
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/calls/"+c.ID)
	// Without wait a new call is always 202, even when a quick worker has
	// already finished it: the answer a client gets must not depend on a
	// race it cannot see. With wait, or for a replay, an ended call is 200.
	status := http.StatusAccepted
	if c.Finished() && (in.WaitFor() > 0 || replayed) {
		status = http.StatusOK
	}
	writeJSON(w, status, c)
}

// getCall is GET /v1/calls/{id}: state, every attempt, the final answer.
func (s *Server) getCall(w http.ResponseWriter, r *http.Request) {
	replyByID(s, w, r, http.StatusOK, s.Calls.Get)
}
