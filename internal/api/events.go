package api

import (
	"net/http"

	"github.com/liaison/liaison/hooks"
)

// eventBatch is POST /v1/events/batch.
type eventBatch struct {
	Events []hooks.EventInput `json:"events"`
}

// batchAnswer reports every event of a batch by its index.
type batchAnswer struct {
	Accepted int               `json:"accepted"`
	Rejected int               `json:"rejected"`
	Results  []hooks.BatchItem `json:"results"`
}

// eventAnswer is GET /v1/events/{id}.
type eventAnswer struct {
	hooks.Event
	Deliveries []hooks.Delivery `json:"deliveries"`
}

func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) {
	replyTo(s, w, r, http.StatusAccepted, s.Hooks.Ingest)
}

func (s *Server) postEventBatch(w http.ResponseWriter, r *http.Request) {
	var in eventBatch
	if err := decodeJSONAsIs(r, &in); err != nil { // a bad event is reported by its index
		s.fail(w, r, err)
		return
	}
	items, err := s.Hooks.IngestBatch(r.Context(), in.Events)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := batchAnswer{Results: items}
	for _, it := range items {
		if it.Accepted != nil {
			out.Accepted++
		} else {
			out.Rejected++
		}
	}
	// 202 even when some were rejected: each result says what happened to
	// its event, and the accepted ones are on their way.
	writeJSON(w, http.StatusAccepted, out)
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) {
	e, ds, err := s.Hooks.GetEvent(r.Context(), r.PathValue("id"))
	s.reply(w, r, http.StatusOK, eventAnswer{Event: e, Deliveries: ds}, err)
}
