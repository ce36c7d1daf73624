package api

import (
	"net/http"
	"time"

	"github.com/liaison/liaison/hooks"
)

// listDeliveries is GET /v1/deliveries?hook=&webhook=&status=&since=, newest
// first, paginated by cursor.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	cursor, limit, err := page(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := hooks.DeliveryFilter{HookID: q.Get("hook"), WebhookID: q.Get("webhook"), EventID: q.Get("event"), Status: q.Get("status"), Cursor: cursor, Limit: limit}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			s.fail(w, r, badRequest("since", "must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z"))
			return
		}
		f.Since = t
	}
	ds, next, err := s.Hooks.Deliveries(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[hooks.Delivery]{Data: ds, NextCursor: next})
}

func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) {
	replyByID(s, w, r, http.StatusOK, s.Hooks.Delivery)
}

func (s *Server) retryDelivery(w http.ResponseWriter, r *http.Request) {
	replyByID(s, w, r, http.StatusAccepted, s.Hooks.Retry)
}
