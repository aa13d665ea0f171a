package mapui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gin-gonic/gin"
)

// get serves path from the web app over fsys the way the server does: as gin's NoRoute handler.
func get(t *testing.T, fsys fstest.MapFS, path string) (*http.Response, string) {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.NoRoute(gin.WrapH(newWebApp(fsys)))
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	resp := w.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestWebApp(t *testing.T) {
	fsys := fstest.MapFS{
		"web/dist/README.md":                                {Data: []byte("# dist")},
		"web/dist/index.html":                               {Data: []byte("<!doctype html><title>app</title>")},
		"web/dist/app.js":                                   {Data: []byte("console.log(1)")},
		"web/dist/maplibre-gl-worker.mjs":                   {Data: []byte("self.onmessage=null")},
		"web/dist/style.css":                                {Data: []byte("body{}")},
		"web/dist/data/countries.json":                      {Data: []byte(`{"type":"FeatureCollection"}`)},
		"web/dist/data/ATTRIBUTION.txt":                     {Data: []byte("Natural Earth")},
		"web/dist/fonts/sc-0.woff2":                         {Data: []byte("wOF2")},
		"web/dist/fonts/NotoSansSC-Regular/19968-20223.pbf": {Data: []byte("\x0a\x00")},
	}
	for _, tc := range []struct {
		path, body, contentType, cache string
	}{
		{"/", "<!doctype html><title>app</title>", "text/html; charset=utf-8", ""},
		{"/index.html", "<!doctype html><title>app</title>", "text/html; charset=utf-8", ""},
		{"/wall", "<!doctype html><title>app</title>", "text/html; charset=utf-8", ""},
		{"/replay/v1", "<!doctype html><title>app</title>", "text/html; charset=utf-8", ""},
		{"/data", "<!doctype html><title>app</title>", "text/html; charset=utf-8", ""},
		{"/data/", "<!doctype html><title>app</title>", "text/html; charset=utf-8", ""},
		{"/app.js", "console.log(1)", "text/javascript; charset=utf-8", "public, max-age=3600"},
		{"/app.js/", "console.log(1)", "text/javascript; charset=utf-8", "public, max-age=3600"},
		{"/maplibre-gl-worker.mjs", "self.onmessage=null", "text/javascript; charset=utf-8", "public, max-age=3600"},
		{"/style.css", "body{}", "text/css; charset=utf-8", "public, max-age=3600"},
		{"/data/countries.json", `{"type":"FeatureCollection"}`, "application/json", "public, max-age=3600"},
		{"/data/../data/ATTRIBUTION.txt", "Natural Earth", "text/plain; charset=utf-8", "public, max-age=3600"},
		{"/fonts/sc-0.woff2", "wOF2", "font/woff2", "public, max-age=3600"},
		{"/fonts/NotoSansSC-Regular/19968-20223.pbf", "\x0a\x00", "application/x-protobuf", "public, max-age=3600"},
	} {
		resp, body := get(t, fsys, tc.path)
		if resp.StatusCode != http.StatusOK || body != tc.body {
			t.Errorf("%s: %d %q, want 200 %q", tc.path, resp.StatusCode, body, tc.body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != tc.contentType {
			t.Errorf("%s: Content-Type %q, want %q", tc.path, ct, tc.contentType)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != tc.cache {
			t.Errorf("%s: Cache-Control %q, want %q", tc.path, cc, tc.cache)
		}
	}
}

// TestWebAppMissingGlyphs: a glyph range the build did not make is a 404, not the app's page,
// which MapLibre would try to read as glyphs.
func TestWebAppMissingGlyphs(t *testing.T) {
	fsys := fstest.MapFS{
		"web/dist/index.html":                         {Data: []byte("<!doctype html><title>app</title>")},
		"web/dist/fonts/NotoSansSC-Regular/0-255.pbf": {Data: []byte("\x0a\x00")},
	}
	for _, p := range []string{"/fonts/NotoSansSC-Regular/40704-40959.pbf", "/fonts/Other%20Font/0-255.pbf", "/fonts/../fonts/x.woff2"} {
		if resp, body := get(t, fsys, p); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "<title>app") {
			t.Errorf("%s: %d %q, want 404", p, resp.StatusCode, body)
		}
	}
}

// TestWebAppNotBuilt: before the web app is built, dist holds only its README and every page
// says how to build it.
func TestWebAppNotBuilt(t *testing.T) {
	fsys := fstest.MapFS{"web/dist/README.md": {Data: []byte("# dist")}}
	for _, p := range []string{"/", "/wall", "/README.md"} {
		resp, body := get(t, fsys, p)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "make web") || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("%s: %d %s %q, want the page saying how to build the app", p, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}

// TestWebAppHasNothingInline: the page the build copies into dist has no inline script, style
// or event handler, which the Content-Security-Policy would refuse.
func TestWebAppHasNothingInline(t *testing.T) {
	b, err := os.ReadFile("web/index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := strings.ToLower(string(b))
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1) {
		if !strings.Contains(tag, " src=") {
			t.Errorf("inline script %s", tag)
		}
	}
	for _, inline := range []*regexp.Regexp{regexp.MustCompile(`<style`), regexp.MustCompile(`\sstyle\s*=`), regexp.MustCompile(`\son[a-z]+\s*=`), regexp.MustCompile(`javascript:`)} {
		if m := inline.FindString(page); m != "" {
			t.Errorf("inline %q in web/index.html", m)
		}
	}
}
