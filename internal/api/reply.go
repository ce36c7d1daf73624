package api

import (
	"context"
	"net/http"
	"strconv"
)

// Most handlers are three steps: read the request, ask the domain one
// thing, and answer with what it says or with its error as a problem.
// The helpers here are the first and last steps, so that a handler reads
// as the one thing it asks.

// reply answers with v at status, or, when err is set, with the problem
// err is.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

// body decodes the request's JSON body into a T (decodeJSON). When it
// cannot, it has answered with the problem, and ok is false.
func body[T any](s *Server, w http.ResponseWriter, r *http.Request) (in T, ok bool) {
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return in, false
	}
	return in, true
}

// replyTo decodes the request's body into an In (body), hands it to do and
// answers status with what do returns, or with the problem.
func replyTo[In, Out any](s *Server, w http.ResponseWriter, r *http.Request, status int, do func(context.Context, In) (Out, error)) {
	in, ok := body[In](s, w, r)
	if !ok {
		return
	}
	out, err := do(r.Context(), in)
	s.reply(w, r, status, out, err)
}

// replyToID is replyTo for a request on the item {id}.
func replyToID[In, Out any](s *Server, w http.ResponseWriter, r *http.Request, status int, do func(context.Context, string, In) (Out, error)) {
	replyTo(s, w, r, status, func(ctx context.Context, in In) (Out, error) { return do(ctx, r.PathValue("id"), in) })
}

// replyDeleted deletes the item {id} with del and answers 204, or the
// problem.
func (s *Server) replyDeleted(w http.ResponseWriter, r *http.Request, del func(context.Context, string) error) {
	if err := del(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// replyPage answers a request for one page of a collection (?cursor= and
// ?limit=, see page): fetch returns the page and whether more follow, and
// then the next cursor is the key of the page's last item. An empty page
// is an empty list, never null.
func replyPage[T any](s *Server, w http.ResponseWriter, r *http.Request, fetch func(ctx context.Context, cursor string, limit int) ([]T, bool, error), key func(T) string) {
	cursor, limit, err := page(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items, more, err := fetch(r.Context(), cursor, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := list[T]{Data: append([]T{}, items...)}
	if more {
		out.NextCursor = key(items[len(items)-1])
	}
	writeJSON(w, http.StatusOK, out)
}

// page reads ?limit= (1–200, default 50) and ?cursor=.
func page(r *http.Request) (cursor string, limit int, err error) {
	limit = 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return "", 0, badRequest("limit", "must be a whole number from 1 to 200")
		}
		limit = n
	}
	return r.URL.Query().Get("cursor"), limit, nil
}

// list is a page of a collection.
type list[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}
