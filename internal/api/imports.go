package api

import (
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
	var in importer.Input
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	im, err := s.Imports.Create(r.Context(), in, s.connectionExists(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, im)
}

func (s *Server) listImports(w http.ResponseWriter, r *http.Request) {
	cursor, limit, err := page(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ims, more, err := s.Imports.List(r.Context(), cursor, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := list[importer.Import]{Data: append([]importer.Import{}, ims...)}
	if more {
		out.NextCursor = ims[len(ims)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getImport(w http.ResponseWriter, r *http.Request) {
	im, err := s.Imports.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, im)
}

func (s *Server) updateImport(w http.ResponseWriter, r *http.Request) {
	var in importer.Input
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	im, err := s.Imports.Update(r.Context(), r.PathValue("id"), in, s.connectionExists(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, im)
}

func (s *Server) deleteImport(w http.ResponseWriter, r *http.Request) {
	if err := s.Imports.Delete(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
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

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	cursor, limit, err := page(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	runs, more, err := s.Imports.Runs(r.Context(), r.PathValue("id"), cursor, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := list[importer.Run]{Data: append([]importer.Run{}, runs...)}
	if more {
		out.NextCursor = runs[len(runs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	run, err := s.Imports.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	run, err := s.Jobs.CancelImportRun(r.Context(), s.Imports, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (s *Server) listItems(w http.ResponseWriter, r *http.Request) {
	cursor, limit, err := page(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := r.URL.Query().Get("status")
	if status != "" && status != importer.ItemActive && status != importer.ItemRemoved {
		s.fail(w, r, badRequest("status", `must be "active" or "removed"`))
		return
	}
	items, more, err := s.Imports.Items(r.Context(), r.PathValue("id"), status, cursor, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := list[importer.CatalogItem]{Data: append([]importer.CatalogItem{}, items...)}
	if more {
		out.NextCursor = items[len(items)-1].ExternalID
	}
	writeJSON(w, http.StatusOK, out)
}
