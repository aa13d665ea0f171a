package mapui

import (
	"embed"
	"io/fs"
	"mime"
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

func (s *Server) serveWebApp(c *gin.Context) {
	dist, _ := fs.Sub(webDist, "web/dist")
	if _, err := fs.Stat(dist, "index.html"); err != nil {
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(`<!doctype html><meta charset="utf-8"><title>BorderWatch</title>
<p>The BorderWatch web app is not built into this binary. Run <code>make web</code> (or <code>make build</code>) and rebuild.
The API is served under <a href="/api/v1/">/api/v1</a>.</p>`))
		return
	}
	p := strings.TrimPrefix(path.Clean(c.Request.URL.Path), "/")
	if p == "" || p == "." {
		p = "index.html"
	}
	if st, err := fs.Stat(dist, p); err != nil || st.IsDir() {
		p = "index.html" // client-side routes
	}
	b, err := fs.ReadFile(dist, p)
	if err != nil {
		fail(c, http.StatusNotFound, "not_found", "no such file")
		return
	}
	if p != "index.html" {
		c.Header("Cache-Control", "public, max-age=3600")
	}
	ct := mime.TypeByExtension(path.Ext(p))
	if path.Ext(p) == ".mjs" {
		ct = "text/javascript; charset=utf-8"
	}
	if ct == "" {
		ct = http.DetectContentType(b)
	}
	c.Data(http.StatusOK, ct, b)
}
