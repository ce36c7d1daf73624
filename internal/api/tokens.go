package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/liaison/liaison/internal/access"
)

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	in, ok := body[access.Input](s, w, r)
	if !ok {
		return
	}
	if err := mayGrant(caller(r.Context()), in.Scopes); err != nil {
		s.fail(w, r, err)
		return
	}
	issued, err := s.Tokens.Create(r.Context(), in, access.ByToken(caller(r.Context()).ID))
	s.reply(w, r, http.StatusCreated, issued, err)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	replyPage(s, w, r, s.Tokens.List, func(t access.Token) string { return t.ID })
}

func (s *Server) getToken(w http.ResponseWriter, r *http.Request) {
	replyByID(s, w, r, http.StatusOK, s.Tokens.Get)
}

func (s *Server) updateToken(w http.ResponseWriter, r *http.Request) {
	in, ok := body[access.Input](s, w, r)
	if !ok {
		return
	}
	if err := s.mayManage(r, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := mayGrant(caller(r.Context()), in.Scopes); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.Tokens.Update(r.Context(), r.PathValue("id"), in)
	s.reply(w, r, http.StatusOK, t, err)
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) {
	if err := s.mayManage(r, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	s.replyDone(w, r, s.Tokens.Delete(r.Context(), r.PathValue("id")))
}

type rotateRequest struct {
	// Expire is "later" or "now".
	Expire string `json:"expire"`
}

func (s *Server) rotateToken(w http.ResponseWriter, r *http.Request) {
	in, ok := body[rotateRequest](s, w, r)
	if !ok {
		return
	}
	if in.Expire != "later" && in.Expire != "now" {
		s.fail(w, r, unprocessable(FieldError{Field: "expire", Message: `must be "later" (old and new secrets both work for the overlap) or "now" (the old secret stops at once)`}))
		return
	}
	if err := s.mayManage(r, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	issued, err := s.Tokens.Rotate(r.Context(), r.PathValue("id"), in.Expire == "now")
	s.reply(w, r, http.StatusOK, issued, err)
}

func (s *Server) cancelTokenRotation(w http.ResponseWriter, r *http.Request) {
	s.endRotation(w, r, s.Tokens.CancelRotation)
}

func (s *Server) expireTokenRotation(w http.ResponseWriter, r *http.Request) {
	s.endRotation(w, r, s.Tokens.ExpireRotation)
}

// endRotation ends the rotation of the token named in the path, one way
// or the other, once the caller may manage it.
func (s *Server) endRotation(w http.ResponseWriter, r *http.Request, end func(ctx context.Context, id string) (access.Token, error)) {
	if err := s.mayManage(r, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := end(r.Context(), r.PathValue("id"))
	s.reply(w, r, http.StatusOK, t, err)
}

// A token cannot raise itself: access.TokenMaker holds the rule, which
// the web UI asks too (access.PersonMaker).

// mayGrant refuses scopes the caller does not hold. Names that are no
// scope at all are left to the store, which says so field by field.
func mayGrant(by access.Token, scopes *[]string) error {
	if scopes == nil {
		return nil // an edit that leaves the scopes as they are
	}
	if missing := access.TokenMaker(by).Lacking(*scopes); len(missing) > 0 {
		p := problem(http.StatusForbidden, "an access token can only grant scopes it holds itself; this one lacks "+strings.Join(missing, ", "))
		p.Type = "https://liaison.dev/problems/insufficient-scope"
		p.Errors = []FieldError{{Field: "scopes", Message: "names scopes the calling token does not hold: " + strings.Join(missing, ", ")}}
		return p
	}
	return nil
}

// mayManage refuses to act on a token that holds scopes the caller does
// not.
func (s *Server) mayManage(r *http.Request, id string) error {
	t, err := s.Tokens.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if missing := access.TokenMaker(caller(r.Context())).Lacking(t.Scopes); len(missing) > 0 {
		p := problem(http.StatusForbidden, "an access token can only manage tokens with no scope it lacks; token "+id+" holds "+strings.Join(missing, ", "))
		p.Type = "https://liaison.dev/problems/insufficient-scope"
		return p
	}
	return nil
}
