package mapui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
)

// webDist is the built web app (mapui/web, `make web`). Before it is built the folder holds
// only its README, and the server says how to build the app.
//
//go:embed all:web/dist
var webDist embed.FS

// assetTypes are the Content-Types of the app's files that Go's built-in MIME table lacks.
var assetTypes = map[string]string{
	".mjs":   "text/javascript; charset=utf-8",
	".pbf":   "application/x-protobuf",
	".woff2": "font/woff2",
}

// webApp answers every path outside the API.
var webApp = newWebApp(webDist)

func (s *Server) serveWebApp(c *gin.Context) { webApp.ServeHTTP(c.Writer, c.Request) }

// newWebApp serves the files under web/dist of embedded, and index.html for every other path
// (directories included, so nothing is listed): those are the app's own routes.
func newWebApp(embedded fs.FS) http.Handler {
	dist, _ := fs.Sub(embedded, "web/dist")
	if _, err := fs.Stat(dist, "index.html"); err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", webAppCSP(r.Host))
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusOK) // gin presets 404 for unrouted paths
			w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>BorderWatch</title>
<p>The BorderWatch web app is not built into this binary. Run <code>make web</code> (or <code>make build</code>) and rebuild.
The API is served under <a href="/api/v1/">/api/v1</a>.</p>`))
		})
	}
	files := http.FileServerFS(dist)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", webAppCSP(r.Host))
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		st, err := fs.Stat(dist, p)
		switch {
		case err != nil && strings.HasPrefix(p, "fonts/"):
			// A glyph range the build did not make: MapLibre draws the label without those
			// characters on a 404, but fails on the app's page.
			http.NotFound(w, r)
			return
		case err != nil || st.IsDir() || p == "index.html":
			p = "" // the file server answers "/" with index.html, and redirects "/index.html" there
		default:
			w.Header().Set("Cache-Control", "public, max-age=3600")
			// Types a system MIME table may lack (the worker is a module; fonts and glyphs).
			if ct, ok := assetTypes[path.Ext(p)]; ok {
				w.Header().Set("Content-Type", ct)
			}
		}
		r = r.Clone(r.Context())
		r.URL.Path, r.URL.RawPath = "/"+p, ""
		files.ServeHTTP(w, r)
	})
}
