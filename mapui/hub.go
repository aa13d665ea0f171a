package mapui

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/targeting"
)

// Hub fans committed positions and alert changes out to WebSocket clients. Publish never
// blocks the pipeline: work is handed to the hub's goroutine through a bounded queue, and
// each client gets the newest position per vehicle plus every alert change, sent in batches,
// so a slow client costs memory bounded by the fleet size, not by time.
type Hub struct {
	log     *slog.Logger
	in      chan published
	mu      sync.RWMutex
	clients map[*client]struct{}
	flush   time.Duration
	pubMu   sync.Mutex
	newest  map[string]int // Publish's scratch: vehicle → index of its newest fix

	dropped     prometheus.Counter
	unencodable prometheus.Counter
	conns       prometheus.Gauge
}

type published struct {
	fixes   []tracker.Fix
	alerts  []tracker.Alert
	notices []targeting.Notice
}

// NewHub makes a hub; Run must be running for it to deliver. A nil log is slog.Default().
func NewHub(log *slog.Logger, reg prometheus.Registerer) *Hub {
	if log == nil {
		log = slog.Default()
	}
	h := &Hub{
		log:     log,
		in:      make(chan published, 4096),
		clients: map[*client]struct{}{},
		newest:  map[string]int{},
		flush:   200 * time.Millisecond,
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_live_dropped_total", Help: "Publications the live hub dropped because it was behind."}),
		unencodable: prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_live_unencodable_total",
			Help: "Live messages dropped because they could not be encoded as JSON."}),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bw_live_clients", Help: "Connected live WebSocket clients."}),
	}
	if reg != nil {
		reg.MustRegister(h.dropped, h.unencodable, h.conns)
	}
	return h
}

// Publish queues what was committed; it drops (and counts) rather than wait. It keeps copies:
// clients keep only the newest position per vehicle, so only the newest fix of each vehicle
// is kept, and late fixes (backfill) are history, not where the vehicle is now. Events are
// not sent live.
func (h *Hub) Publish(fixes []tracker.Fix, _ []tracker.Event, alerts []tracker.Alert) {
	h.mu.RLock()
	n := len(h.clients)
	h.mu.RUnlock()
	if n == 0 {
		return
	}
	h.pubMu.Lock()
	clear(h.newest)
	for i := range fixes {
		f := &fixes[i]
		if !f.Valid || f.Late {
			continue
		}
		if j, ok := h.newest[f.VehicleID]; !ok || !f.Time.Before(fixes[j].Time) {
			h.newest[f.VehicleID] = i
		}
	}
	var kept []tracker.Fix
	if len(h.newest) > 0 {
		kept = make([]tracker.Fix, 0, len(h.newest))
		for _, i := range h.newest {
			kept = append(kept, fixes[i])
		}
	}
	h.pubMu.Unlock()
	select {
	case h.in <- published{fixes: kept, alerts: slices.Clone(alerts)}:
	default:
		h.dropped.Inc()
	}
}

// Run delivers publications until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-h.in:
			h.deliver(p)
		}
	}
}

// Notify queues a targeting notice (targeting.Notifier): every user of the district hears it,
// a port's users when it is their port's, and the user it names, or who was sent to the order
// it ends, wherever they are (client.noticed). It drops (and counts) rather than wait.
func (h *Hub) Notify(n targeting.Notice) {
	select {
	case h.in <- published{notices: []targeting.Notice{n}}:
	default:
		h.dropped.Inc()
	}
}

// noticeMsg is a notice on the socket: {"type":"target","kind":"fired","order":{…},…}.
type noticeMsg struct {
	Type string `json:"type"`
	targeting.Notice
}

type positionMsg struct {
	Type string       `json:"type"`
	Fix  *tracker.Fix `json:"fix"`
}

type alertMsg struct {
	Type  string         `json:"type"`
	Alert *tracker.Alert `json:"alert"`
}

func (h *Hub) deliver(p published) {
	h.mu.RLock()
	clients := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.RUnlock()
	for i := range p.fixes {
		f := &p.fixes[i]
		var msg []byte
		for _, c := range clients {
			if !c.wantsFix(f) {
				continue
			}
			if msg == nil {
				if msg = h.encode(positionMsg{"position", f}); msg == nil {
					break
				}
			}
			c.queuePosition(f.VehicleID, msg)
		}
	}
	for i := range p.alerts {
		a := &p.alerts[i]
		var msg []byte
		for _, c := range clients {
			if !c.wantsAlert(a) {
				continue
			}
			if msg == nil {
				if msg = h.encode(alertMsg{"alert", a}); msg == nil {
					break
				}
			}
			c.queueAlert(msg)
		}
	}
	for i := range p.notices {
		n := &p.notices[i]
		msg := h.encode(noticeMsg{"target", *n})
		if msg == nil {
			continue
		}
		for _, c := range clients {
			if c.noticed(n) {
				c.queueAlert(msg)
			}
		}
	}
}

// noticed applies n to what the client's user sees and reports whether they hear of it: every
// user of the district does, a port's users when it is their port's, and a user it names or who
// was sent to its order wherever they are. A patrol sent outside its area sees that alert and
// follows that vehicle from the assignment on, and no longer once the order ends: reported, the
// alert stays readable; cancelled or expired, nothing of it stays, and a position of its vehicle
// still queued is not sent.
func (c *client) noticed(n *targeting.Notice) bool {
	mine := n.User != "" && n.User == c.session.Username
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.area == nil {
		return true
	}
	switch {
	case n.Order == nil:
	case mine && n.Kind == targeting.NoticeAssigned:
		c.area.sentTo(n.Order, false)
		c.areaGen++
	case n.Kind == targeting.NoticeClosed || n.Kind == targeting.NoticeCancelled:
		if c.area.ended(n.Order) {
			c.areaGen++
			mine = true
			if v := n.Order.VehicleID; c.area.vehicles[v] == 0 && c.positions[v] != nil {
				delete(c.positions, v)
				c.order = slices.DeleteFunc(c.order, func(id string) bool { return id == v })
			}
		}
	}
	return (n.PortID != "" && c.area.zones[n.PortID]) || mine
}

// encode marshals one message, or logs, counts and returns nil when it cannot: a fix or alert
// holding NaN or broken evidence is dropped rather than sent as an empty or corrupt frame.
func (h *Hub) encode(msg any) []byte {
	b, err := json.Marshal(msg)
	if err != nil {
		h.log.Error("live: message not sent, cannot encode it", "err", err)
		h.unencodable.Inc()
		return nil
	}
	return b
}

// subscription narrows what a client receives; the zero value receives everything. Positions
// must match both bbox and vehicles when both are given. Alerts match them too unless
// all_alerts is set: a wall or a tablet looks at one area but must hear of every alert.
type subscription struct {
	Type        string    `json:"type"`
	BBox        []float64 `json:"bbox,omitempty"` // minLon, minLat, maxLon, maxLat
	Vehicles    []string  `json:"vehicles,omitempty"`
	MinSeverity string    `json:"min_severity,omitempty"`
	AllAlerts   bool      `json:"all_alerts,omitempty"`
	vehicles    map[string]bool
	minRank     int
}

var severityRank = map[string]int{tracker.SeverityInfo: 0, tracker.SeverityWarning: 1, tracker.SeverityCritical: 2}

type client struct {
	conn *websocket.Conn
	// session is the one the socket was opened with.
	session tracker.Session
	// ended is closed (once, by Hub.endSessions) when this server ends the session.
	ended   chan struct{}
	endOnce sync.Once
	mu      sync.Mutex
	// area is what the user may see (nil: all), whatever the subscription asks; areaGen counts
	// its changes by notices, so that a re-read begun before one does not undo it.
	area    *unitArea
	areaGen int
	sub     subscription
	// positions keeps only the newest message per vehicle until the next flush.
	positions map[string][]byte
	order     []string
	alerts    [][]byte
	wake      chan struct{}
}

const maxQueuedAlerts = 10000

func (c *client) inBox(lat, lon float64) bool {
	b := c.sub.BBox
	return len(b) != 4 || (lon >= b[0] && lat >= b[1] && lon <= b[2] && lat <= b[3])
}

func (c *client) wantsFix(f *tracker.Fix) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.area.seesFix(f) {
		return false
	}
	if c.sub.vehicles != nil && !c.sub.vehicles[f.VehicleID] {
		return false
	}
	return c.inBox(f.Lat, f.Lon)
}

func (c *client) wantsAlert(a *tracker.Alert) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.area.seesAlert(a) {
		return false
	}
	if severityRank[a.Severity] < c.sub.minRank {
		return false
	}
	if c.sub.AllAlerts {
		return true
	}
	if c.sub.vehicles != nil && !c.sub.vehicles[a.VehicleID] {
		return false
	}
	return c.inBox(a.Lat, a.Lon)
}

func (c *client) queuePosition(vehicleID string, msg []byte) {
	c.mu.Lock()
	if _, ok := c.positions[vehicleID]; !ok {
		c.order = append(c.order, vehicleID)
	}
	c.positions[vehicleID] = msg
	c.mu.Unlock()
}

func (c *client) queueAlert(msg []byte) {
	c.mu.Lock()
	if len(c.alerts) < maxQueuedAlerts {
		c.alerts = append(c.alerts, msg)
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// take empties the queues into one batch message, or returns nil when nothing waits.
func (c *client) take() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.order) == 0 && len(c.alerts) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`{"type":"batch","messages":[`)
	n := 0
	for _, m := range c.alerts {
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(m)
		n++
	}
	for _, v := range c.order {
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(c.positions[v])
		n++
	}
	b.WriteString("]}")
	c.alerts = c.alerts[:0]
	c.order = c.order[:0]
	clear(c.positions)
	return []byte(b.String())
}

var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 16384,
	// The token authenticates; the web app is served from the same origin, integrators from anywhere.
	CheckOrigin: func(*http.Request) bool { return true },
}

func (s *Server) live(c *gin.Context) {
	h := s.cfg.Hub
	area, ok := s.scope(c)
	if !ok || !s.audited(c, "live.open", "live", nil) {
		return
	}
	conn, err := upgrader.Upgrade(c.Writer, c.Request, nil)
	if err != nil {
		return // the upgrader has answered
	}
	cl := &client{conn: conn, session: session(c), area: area, positions: map[string][]byte{},
		wake: make(chan struct{}, 1), ended: make(chan struct{})}
	h.mu.Lock()
	h.clients[cl] = struct{}{}
	h.mu.Unlock()
	h.conns.Inc()
	done := make(chan struct{})
	go h.writeLoop(cl, done)
	go s.watchSession(cl, done)
	h.readLoop(cl)
	close(done)
	h.mu.Lock()
	delete(h.clients, cl)
	h.mu.Unlock()
	h.conns.Dec()
	conn.Close()
}

// SessionEnded closes the live sockets of the session at once (access.SessionWatcher).
func (h *Hub) SessionEnded(tokenHash string) {
	h.endSessions(func(se *tracker.Session) bool { return se.TokenHash == tokenHash })
}

// UserSessionsEnded closes the live sockets of the user at once (access.SessionWatcher).
func (h *Hub) UserSessionsEnded(username string) {
	h.endSessions(func(se *tracker.Session) bool { return se.Username == username })
}

func (h *Hub) endSessions(match func(*tracker.Session) bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.clients {
		if match(&c.session) {
			c.endOnce.Do(func() { close(c.ended) })
		}
	}
}

// closeSessionEnded is the close code a live socket ends with when its session does: the
// client logs in again rather than reconnect.
const closeSessionEnded = 4401

// watchSession closes the socket when its session ends: at once when this server ends it
// (logout, the user changed, disabled or deleted: Hub.SessionEnded), at its expiry by the
// clock, and otherwise by re-reading it now and every LiveRecheck, which sees what another
// server on the same store did (and a logout between the upgrade and the registration). The
// re-read counts as activity, so a wall screen that only listens is not logged out by the idle
// timeout; closing the screen ends that.
func (s *Server) watchSession(c *client, done <-chan struct{}) {
	expiry := time.NewTimer(time.Until(c.session.ExpiresAt))
	defer expiry.Stop()
	recheck := time.NewTicker(s.cfg.LiveRecheck)
	defer recheck.Stop()
	for ended := s.sessionGone(c.session.TokenHash); !ended; {
		select {
		case <-done:
			return
		case <-c.ended:
			ended = true
		case <-expiry.C:
			ended = true
		case <-recheck.C:
			if ended = s.sessionGone(c.session.TokenHash); !ended {
				s.rescope(c)
			}
		}
	}
	c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeSessionEnded, "session_ended"), time.Now().Add(time.Second))
	c.conn.Close() // the read loop ends and unregisters the client
}

// rescope re-reads the area of a patrol's socket as a request would: an assignment made or ended
// on another server (whose notices reach only its own sockets) shows here within LiveRecheck. A
// change by a notice meanwhile is newer than what was read: it stays, and the next re-read
// decides. A store that cannot answer leaves the area as it is.
func (s *Server) rescope(c *client) {
	c.mu.Lock()
	patrol, gen := c.area != nil && c.session.Role == access.RolePatrol, c.areaGen
	c.mu.Unlock()
	if !patrol {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := s.areaOf(ctx, c.session)
	if err != nil {
		s.log.Warn("live: cannot re-read the user's area", "err", err)
		return
	}
	c.mu.Lock()
	if a != nil && c.areaGen == gen {
		c.area = a
	}
	c.mu.Unlock()
}

// sessionGone re-reads a session. A store that cannot answer is no proof that the session
// ended: the socket stays, and the next re-read decides.
func (s *Server) sessionGone(tokenHash string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.cfg.Access.CheckSession(ctx, tokenHash)
	switch {
	case errors.Is(err, access.ErrInvalidToken), errors.Is(err, access.ErrTokenExpired):
		return true
	case err != nil:
		s.log.Warn("live: cannot re-check the session", "err", err)
	}
	return false
}

// readLoop takes subscriptions until the client goes away.
func (h *Hub) readLoop(c *client) {
	c.conn.SetReadLimit(64 << 10)
	c.conn.SetReadDeadline(time.Now().Add(90 * time.Second))
	c.conn.SetPongHandler(func(string) error { return c.conn.SetReadDeadline(time.Now().Add(90 * time.Second)) })
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		c.conn.SetReadDeadline(time.Now().Add(90 * time.Second))
		var sub subscription
		if err := json.Unmarshal(data, &sub); err != nil || (sub.Type != "" && sub.Type != "subscribe") || (len(sub.BBox) != 0 && len(sub.BBox) != 4) {
			c.mu.Lock()
			c.alerts = append(c.alerts, []byte(`{"type":"error","message":"expected {\"type\":\"subscribe\",\"bbox\":[minLon,minLat,maxLon,maxLat],\"vehicles\":[…],\"min_severity\":\"warning\"}"}`))
			c.mu.Unlock()
			continue
		}
		if len(sub.Vehicles) > 0 {
			sub.vehicles = map[string]bool{}
			for _, v := range sub.Vehicles {
				sub.vehicles[v] = true
			}
		}
		sub.minRank = severityRank[sub.MinSeverity]
		// Positions queued under the old filter are dropped and the acknowledgement is queued,
		// so every position after it matches the new filter; a client refetches /positions
		// once acknowledged to fill what it missed.
		sub.Type = "subscribed"
		ack := h.encode(sub)
		c.mu.Lock()
		c.sub = sub
		c.order = c.order[:0]
		clear(c.positions)
		if ack != nil {
			c.alerts = append(c.alerts, ack)
		}
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

func (h *Hub) writeLoop(c *client, done chan struct{}) {
	tick := time.NewTicker(h.flush)
	defer tick.Stop()
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-done:
			return
		case <-ping.C:
			c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				c.conn.Close()
				return
			}
			continue
		case <-tick.C:
		case <-c.wake:
		}
		msg := c.take()
		if msg == nil {
			continue
		}
		c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			c.conn.Close() // the read loop ends and unregisters the client
			return
		}
	}
}
