package api

import (
	"context"
	"net/http"

	"github.com/liaison/liaison/importer"
)

// connectionExists tells the importer whether a connection id is known.
func (s *Server) connectionExists(r *http.Request) func(string) bool {
	if s.Connections == nil {
		return nil
	}
	return func(id string) bool {
		_, err := s.Connections.Get(r.Context(), id)
		return err == nil
	}
}

func (s *Server) createImport(w http.ResponseWriter, r *http.Request) {
	replyTo(s, w, r, http.StatusCreated, func(ctx context.Context, in importer.Input) (importer.Import, error) {
		return s.Imports.Create(ctx, in, s.connectionExists(r))
	})
}

func (s *Server) listImports(w http.ResponseWriter, r *http.Request) {
	replyPage(s, w, r, s.Imports.List, func(im importer.Import) string { return im.ID })
}

func (s *Server) getImport(w http.ResponseWriter, r *http.Request) {
	im, err := s.Imports.Get(r.Context(), r.PathValue("id"))
	s.reply(w, r, http.StatusOK, im, err)
}

func (s *Server) updateImport(w http.ResponseWriter, r *http.Request) {
	replyToID(s, w, r, http.StatusOK, func(ctx context.Context, id string, in importer.Input) (importer.Import, error) {
		return s.Imports.Update(ctx, id, in, s.connectionExists(r))
	})
}

func (s *Server) deleteImport(w http.ResponseWriter, r *http.Request) {
	s.replyDeleted(w, r, s.Imports.Delete)
}

func (s *Server) runImport(w http.ResponseWriter, r *http.Request) {
	run, err := s.Jobs.StartImportRun(r.Context(), s.Imports, r.PathValue("id"), "manual")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/runs/"+run.ID)
	writeJSON(w, http.StatusAccepted, run)
}

// listRuns pages through an import's runs, newest first.
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	importID := r.PathValue("id")
	replyPage(s, w, r, func(ctx context.Context, cursor string, limit int) ([]importer.Run, bool, error) {
		return s.Imports.Runs(ctx, importID, cursor, limit)
	}, func(run importer.Run) string { return run.ID })
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	run, err := s.Imports.GetRun(r.Context(), r.PathValue("id"))
	s.reply(w, r, http.StatusOK, run, err)
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	run, err := s.Jobs.CancelImportRun(r.Context(), s.Imports, r.PathValue("id"))
	s.reply(w, r, http.StatusOK, run, err)
}

// listItems pages through an import's catalogue items by external id,
// all of them or those of one status.
func (s *Server) listItems(w http.ResponseWriter, r *http.Request) {
	importID, status := r.PathValue("id"), r.URL.Query().Get("status")
	replyPage(s, w, r, func(ctx context.Context, cursor string, limit int) ([]importer.CatalogItem, bool, error) {
		if status != "" && status != importer.ItemActive && status != importer.ItemRemoved {
			return nil, false, badRequest("status", `must be "active" or "removed"`)
		}
		return s.Imports.Items(ctx, importID, status, cursor, limit)
	}, func(it importer.CatalogItem) string { return it.ExternalID })
}
