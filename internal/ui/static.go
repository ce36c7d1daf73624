package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
)

//go:embed static
var staticEmbed embed.FS

// staticFiles serves /static/: the style sheet and the script. Their URLs
// carry a hash of the content (?v=), so that browsers may keep them for a
// year and still get a new one with each new build.
type staticFiles struct {
	files   http.Handler
	version map[string]string
}

func loadStatic() (staticFiles, error) {
	sub, err := fs.Sub(staticEmbed, "static")
	if err != nil {
		return staticFiles{}, err
	}
	s := staticFiles{files: http.StripPrefix("/static/", http.FileServerFS(sub)), version: map[string]string{}}
	names, err := fs.Glob(sub, "*")
	if err != nil {
		return staticFiles{}, err
	}
	for _, n := range names {
		b, err := fs.ReadFile(sub, n)
		if err != nil {
			return staticFiles{}, err
		}
		sum := sha256.Sum256(b)
		s.version[n] = hex.EncodeToString(sum[:6])
	}
	return s, nil
}

// url is the template function {{static "style.css"}}.
func (s staticFiles) url(name string) string { return "/static/" + name + "?v=" + s.version[name] }

func (s staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if v := r.URL.Query().Get("v"); v != "" && v == s.version[r.URL.Path[len("/static/"):]] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	s.files.ServeHTTP(w, r)
}
