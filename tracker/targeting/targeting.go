// Package targeting runs customs targeting (布控) and dispatch: orders to inspect a vehicle,
// their expiry, the hit when the vehicle shows up (a gate read, a GPS arrival at a port or
// yard, a declaration), the assignment of a port team or patrol and its escalation when nobody
// accepts, the inspection's result and photos, and the hit rate of each source of risk.
//
// Orders live on the data's clock (they are matched against gate reads and fixes, and the demo
// runs the data at 60×); assignments on the wall clock, since people accept them.
package targeting

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
)

// Store is what targeting reads and writes: its own objects, and the alerts, vehicles and
// users orders and assignments name.
type Store interface {
	CreateTarget(ctx context.Context, o tracker.TargetOrder) error
	UpdateTarget(ctx context.Context, o tracker.TargetOrder) (tracker.TargetOrder, error)
	Target(ctx context.Context, id string) (tracker.TargetOrder, error)
	Targets(ctx context.Context, q tracker.TargetQuery) ([]tracker.TargetOrder, error)
	CreateAssignment(ctx context.Context, a tracker.Assignment) error
	UpdateAssignment(ctx context.Context, a tracker.Assignment) (tracker.Assignment, error)
	Assignment(ctx context.Context, id string) (tracker.Assignment, error)
	Assignments(ctx context.Context, q tracker.AssignmentQuery) ([]tracker.Assignment, error)
	PutPhoto(ctx context.Context, p tracker.Photo) error
	Photo(ctx context.Context, orderID, sha256 string) (tracker.Photo, error)
	Photos(ctx context.Context, orderID string) ([]tracker.Photo, error)

	Alert(ctx context.Context, id int64) (tracker.Alert, error)
	Vehicle(ctx context.Context, id string) (tracker.Vehicle, error)
	Vehicles(ctx context.Context) ([]tracker.Vehicle, error)
	User(ctx context.Context, username string) (tracker.User, error)
}

// Auditor writes the audit log (access.Service.Record).
type Auditor interface {
	Record(ctx context.Context, actor, action, object, result string, detail any) error
}

// Notifier tells people of a notice at once (the live hub). It must not block.
type Notifier interface {
	Notify(n Notice)
}

// Notice is a change people must hear of: an order fired, an assignment made or escalated.
type Notice struct {
	Kind       string               `json:"kind"` // NoticeFired, NoticeAssigned, …
	Order      *tracker.TargetOrder `json:"order,omitempty"`
	Assignment *tracker.Assignment  `json:"assignment,omitempty"`
	// PortID is the port whose users hear it (the district's hear everything); User a user who
	// hears it wherever they are.
	PortID string `json:"port_id,omitempty"`
	User   string `json:"user,omitempty"`
}

// Notice kinds.
const (
	NoticeFired     = "fired"
	NoticeAssigned  = "assigned"
	NoticeEscalated = "escalated"
	NoticeClosed    = "closed"
	NoticeCancelled = "cancelled"  // an order cancelled or expired: its assignments are called off
	NoticeTakenOver = "taken_over" // the district took over a port's order
)

// Ways an order fires (TargetOrder.FiredVia).
const (
	ViaGateRead    = "gate_read"
	ViaArrival     = "zone_arrival"
	ViaDeclaration = "declaration"
	ViaIssued      = "issued" // intercept now: the order is for the patrols at once
)

// Errors a caller answers as the request's fault.
var (
	// ErrInvalid: the request is wrong; the message says how.
	ErrInvalid = errors.New("invalid")
	// ErrForbidden: the actor's unit may not do this to that order.
	ErrForbidden = errors.New("not allowed for your unit")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Actor is the person acting.
type Actor struct {
	Username string
	// Unit is tracker.UnitDistrict ("" too) or the port zone the person belongs to.
	Unit string
}

func (a Actor) district() bool { return a.Unit == "" || a.Unit == tracker.UnitDistrict }

// Sees reports whether a may see o: the district sees every order, a port the orders its teams
// act on.
func (a Actor) Sees(o *tracker.TargetOrder) bool { return a.district() || o.PortID == a.Unit }

// Config configures a Service.
type Config struct {
	Store  Store
	Audit  Auditor
	Notify Notifier // may be nil
	// Now is the data's clock (orders); Wall the people's (assignments, escalation). Nil: time.Now.
	Now, Wall func() time.Time
	// EscalateAfter is how long an assignment may wait unaccepted before it goes to the port's
	// command, and as long again before it goes to the district (default 5 min).
	EscalateAfter time.Duration
	// RandomShare is the share of matched gate reads at a port drawn for a random inspection,
	// the baseline of the hit rate (0: none). Rand draws in [0, 1); nil: NewRand(0).
	RandomShare float64
	Rand        func() float64
	// Tick is how often Run expires orders and escalates assignments (default 10 s).
	Tick       time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Limits.
const (
	MaxValidity      = 90 * 24 * time.Hour
	DefaultValidity  = 7 * 24 * time.Hour
	MaxNote          = 2000
	MaxPhotoBytes    = 5 << 20
	MaxPhotosOfOrder = 12
	arrivalQueue     = 1024
)

// Service runs targeting. Its methods are safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger

	mu    sync.RWMutex
	zones map[string]zoneInfo
	// open are the active and fired orders by ID, what a hit is looked for in without the store;
	// active counts the active ones by vehicle, for the pipeline's every zone entry.
	open   map[string]tracker.TargetOrder
	active map[string]int

	arrivals chan Hit

	fired      *prometheus.CounterVec
	escalated  *prometheus.CounterVec
	dropped    prometheus.Counter
	candidates prometheus.Counter
	draws      prometheus.Counter
}

type zoneInfo struct {
	kind geofence.Kind
	port string // the port zone it belongs to ("" none)
	name string
}

// New makes a Service; Load reads its open orders, Run keeps time.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Wall == nil {
		cfg.Wall = time.Now
	}
	if cfg.EscalateAfter <= 0 {
		cfg.EscalateAfter = 5 * time.Minute
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 10 * time.Second
	}
	if cfg.Rand == nil {
		cfg.Rand = NewRand(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Service{
		cfg:      cfg,
		log:      cfg.Logger,
		zones:    map[string]zoneInfo{},
		open:     map[string]tracker.TargetOrder{},
		active:   map[string]int{},
		arrivals: make(chan Hit, arrivalQueue),
		fired:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bw_targets_fired_total", Help: "Targeting orders fired, by how the vehicle was found."}, []string{"via"}),
		escalated: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bw_assignments_escalated_total",
			Help: "Assignments escalated for want of acceptance, by the level they went to."}, []string{"level"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_target_arrivals_dropped_total",
			Help: "GPS arrivals of targeted vehicles not checked because targeting was behind."}),
		candidates: prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_target_random_candidates_total",
			Help: "Gate reads at a port of a vehicle no order held: each a chance of a random inspection."}),
		draws: prometheus.NewCounter(prometheus.CounterOpts{Name: "bw_target_random_draws_total",
			Help: "Random inspections drawn (their share of the candidates is the configured random share)."}),
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(s.fired, s.escalated, s.dropped, s.candidates, s.draws)
	}
	return s
}

// SetZones tells the service the zones: what kind each is and the port it belongs to.
func (s *Service) SetZones(zones []geofence.Zone) {
	m := make(map[string]zoneInfo, len(zones))
	for _, z := range zones {
		port, _ := z.Properties["port_id"].(string)
		if z.Kind == geofence.KindPort {
			port = z.ID
		}
		m[z.ID] = zoneInfo{kind: z.Kind, port: port, name: z.Name}
	}
	s.mu.Lock()
	s.zones = m
	s.mu.Unlock()
}

func (s *Service) zone(id string) (zoneInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	z, ok := s.zones[id]
	return z, ok
}

// Load reads the open orders; a server sharing the store with others reloads them every Tick.
func (s *Service) Load(ctx context.Context) error {
	open := map[string]tracker.TargetOrder{}
	for _, st := range []string{tracker.TargetActive, tracker.TargetFired} {
		os, err := s.cfg.Store.Targets(ctx, tracker.TargetQuery{Status: st})
		if err != nil {
			return fmt.Errorf("targeting: loading %s orders: %w", st, err)
		}
		for _, o := range os {
			open[o.ID] = o
		}
	}
	active := map[string]int{}
	for _, o := range open {
		if o.Status == tracker.TargetActive && o.VehicleID != "" {
			active[o.VehicleID]++
		}
	}
	s.mu.Lock()
	s.open, s.active = open, active
	s.mu.Unlock()
	return nil
}

// remember keeps the index of open orders in step with a stored order.
func (s *Service) remember(o tracker.TargetOrder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.open[o.ID]; ok && old.Status == tracker.TargetActive && old.VehicleID != "" {
		if s.active[old.VehicleID]--; s.active[old.VehicleID] <= 0 {
			delete(s.active, old.VehicleID)
		}
	}
	if o.Status == tracker.TargetActive || o.Status == tracker.TargetFired {
		s.open[o.ID] = o
		if o.Status == tracker.TargetActive && o.VehicleID != "" {
			s.active[o.VehicleID]++
		}
	} else {
		delete(s.open, o.ID)
	}
}

// NormalizePlate is a plate as orders and gate reads are compared: upper case, without spaces
// or the middle dot some readers put after the province.
func NormalizePlate(p string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '·', '-':
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(p)))
}

func newID(prefix string, t time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return prefix + t.In(chinaTime).Format("20060102") + "-" + hex.EncodeToString(b[:])
}

// chinaTime is Asia/Shanghai without the time zone database: China has kept UTC+8 since 1991.
var chinaTime = time.FixedZone("CST", 8*3600)

// audit records a change; a person's change that cannot be audited is reported as failed.
func (s *Service) audit(ctx context.Context, actor, action, object string, detail any) error {
	if s.cfg.Audit == nil {
		return nil
	}
	return s.cfg.Audit.Record(ctx, actor, action, object, "ok", detail)
}

func (s *Service) notify(n Notice) {
	if s.cfg.Notify != nil {
		s.cfg.Notify.Notify(n)
	}
}
