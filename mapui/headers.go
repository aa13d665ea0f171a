package mapui

import (
	"regexp"

	"github.com/gin-gonic/gin"
)

// apiPolicy is the Content-Security-Policy of everything but the web app: API answers are data,
// never a page, so a browser tricked into rendering one runs and loads nothing.
const apiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// webAppPolicy allows the web app what it uses and nothing inline: its scripts, styles and data
// from this origin; MapLibre's images as data: and blob: URLs and its worker (blob: where
// MapLibre builds one itself); the API and the live WebSocket on this origin.
const webAppPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; connect-src 'self'"

// hostPort is a Host header that can be named in a policy: a DNS name or an IP address, and a port.
var hostPort = regexp.MustCompile(`^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)

// webAppCSP is webAppPolicy for a page requested from host. Browsers that predate CSP 3 do not
// count ws: and wss: as 'self', so the page's own host is named with both schemes.
func webAppCSP(host string) string {
	if !hostPort.MatchString(host) {
		return webAppPolicy
	}
	return webAppPolicy + " ws://" + host + " wss://" + host
}

// hstsMaxAge is a year: browsers that once reached the server over TLS refuse plain HTTP to it.
const hstsMaxAge = "max-age=31536000"

// secureHeaders sets the headers every answer carries: the API's policy (the web app replaces it
// with its own), no framing, no MIME sniffing, no Referer (a URL may hold an export's token), and
// HSTS on a TLS connection.
func secureHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", apiPolicy)
	h.Set("X-Frame-Options", "DENY") // frame-ancestors for browsers without CSP 2
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if c.Request.TLS != nil {
		h.Set("Strict-Transport-Security", hstsMaxAge)
	}
	c.Next()
}
