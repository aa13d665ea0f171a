package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/borderwatch/borderwatch/tracker"
)

// judgePrefix begins the subject on which the owner of a partition judges and commits gate
// reads and the events terminals report besides positions (driver cards, alarms): the rules
// state they are judged against (the card in the reader, the declarations' progress, the
// pending gates) lives with the owner.
const judgePrefix = "bw.judge."

func judgeSubject(p int) string { return fmt.Sprintf("%s%d", judgePrefix, p) }

// ErrNoOwner: no tracker answered for the vehicle's partition (none owns it now, or its owner
// is too slow); nothing was judged or stored, the caller may try again.
var ErrNoOwner = fmt.Errorf("cluster: no tracker answers for the vehicle's partition now: %w", tracker.ErrUnavailable)

// Judge is what a partition's owner does with what other nodes send it: the rules' gate read
// judgement, the commit of events and alerts after the rules have judged them, and a
// weighbridge reading judged against the trip the owner follows (its declaration, its arrival
// in the yard, the trip's other readings), stored and committed (mapui.CommitWeighing).
type Judge interface {
	GateRead(ctx context.Context, g tracker.GateRead) (tracker.Event, []tracker.Alert)
	Emit(ctx context.Context, events []tracker.Event, alerts []tracker.Alert) error
	CommitWeighing(ctx context.Context, w tracker.Weighing) (tracker.Weighing, []tracker.Alert, error)
}

type judgeRequest struct {
	// Deadline is when the sender stops waiting: a request still queued then is not judged,
	// so that what the sender reports as not stored (and a terminal resends) is not stored.
	Deadline time.Time         `json:"deadline"`
	Gate     *tracker.GateRead `json:"gate,omitempty"`
	Weighing *tracker.Weighing `json:"weighing,omitempty"`
	Events   []tracker.Event   `json:"events,omitempty"`
	Alerts   []tracker.Alert   `json:"alerts,omitempty"`
}

type judgeReply struct {
	Event    tracker.Event     `json:"event"`
	Weighing *tracker.Weighing `json:"weighing,omitempty"`
	Alerts   []tracker.Alert   `json:"alerts,omitempty"`
	Error    string            `json:"error,omitempty"`
}

// serveJudge answers partition p's judgement requests while ctx lasts (its ownership).
func (t *Tracker) serveJudge(ctx context.Context, p int) (*nats.Subscription, error) {
	return t.c.nc.Subscribe(judgeSubject(p), func(m *nats.Msg) {
		var req judgeRequest
		var rep judgeReply
		switch err := json.Unmarshal(m.Data, &req); {
		case err != nil:
			rep.Error = "request does not decode: " + err.Error()
		case !t.owns[p].Load():
			return // not (yet, or any more) this tracker's: the caller times out or another answers
		case !req.Deadline.IsZero() && time.Now().After(req.Deadline):
			return // its sender gave up
		case req.Gate != nil:
			rep.Event, rep.Alerts = t.cfg.Judge.GateRead(ctx, *req.Gate)
		case req.Weighing != nil:
			w, alerts, err := t.commitWeighing(ctx, *req.Weighing)
			if err != nil {
				rep.Error = err.Error()
			}
			rep.Weighing, rep.Alerts = &w, alerts
		default:
			if err := t.emit(ctx, req.Events, req.Alerts); err != nil {
				rep.Error = err.Error()
			}
		}
		b, _ := json.Marshal(rep)
		if err := m.Respond(b); err != nil {
			t.c.log.Warn("answering a judgement request", "partition", p, "err", err)
		}
	})
}

// emit judges and commits the events not stored yet, and the alerts sent with them. A terminal
// or a gate system sends a report again when its acknowledgement did not come in time, and it
// may not have come because this owner was still storing the report when the sender's request
// timed out, or because the owner that stored it died before answering: judged again, the report
// would be stored twice. An event already stored is skipped, and so are the request's alerts
// then: a commit stores events and alerts together, so they went in with it.
func (t *Tracker) emit(ctx context.Context, events []tracker.Event, alerts []tracker.Alert) error {
	fresh := make([]tracker.Event, 0, len(events))
	for i := range events {
		stored, err := t.stored(ctx, &events[i])
		if err != nil {
			return err
		}
		if !stored {
			fresh = append(fresh, events[i])
		}
	}
	if len(fresh) < len(events) {
		alerts = nil
	}
	if len(fresh) == 0 && len(alerts) == 0 {
		return nil
	}
	return t.cfg.Judge.Emit(ctx, fresh, alerts)
}

// commitWeighing judges, stores and commits a weighbridge reading, unless the store holds it
// already: a scale resends a reading whose answer did not come in time, and the owner may have
// stored it all the same (as emit does for reports). The reading found is answered as stored,
// without its alerts (they were committed with it).
func (t *Tracker) commitWeighing(ctx context.Context, w tracker.Weighing) (tracker.Weighing, []tracker.Alert, error) {
	got, err := t.cfg.Store.Weighings(ctx, tracker.WeighingQuery{ScaleID: w.ScaleID,
		From: w.Time.Add(-time.Millisecond), To: w.Time.Add(time.Millisecond)})
	if err != nil {
		return w, nil, fmt.Errorf("cluster: looking for the reading in the store: %w", err)
	}
	for _, s := range got {
		if s.Time.Sub(w.Time).Abs() < time.Microsecond && s.ZoneID == w.ZoneID && s.Plate == w.Plate && s.CardID == w.CardID &&
			s.GrossKg == w.GrossKg && s.TareKg == w.TareKg && s.NetKg == w.NetKg {
			return s, nil, nil
		}
	}
	return t.cfg.Judge.CommitWeighing(ctx, w)
}

// reportAttrs are the attributes that tell one report from another of the same vehicle, kind and
// time: the terminal or gate that sent it and what it read. Attributes the owner adds are not
// among them.
var reportAttrs = []string{"device_id", "plate", "card_id", "direction", "inserted", "alarm_code"}

// stored reports whether the store holds ev: an event of its vehicle, kind, zone and time (to the
// microsecond the store keeps) with the same reportAttrs.
func (t *Tracker) stored(ctx context.Context, ev *tracker.Event) (bool, error) {
	got, err := t.cfg.Store.Events(ctx, tracker.EventQuery{VehicleID: ev.VehicleID, Type: ev.Type,
		From: ev.Time.Add(-time.Millisecond), To: ev.Time.Add(time.Millisecond)})
	if err != nil {
		return false, fmt.Errorf("cluster: looking for the report in the store: %w", err)
	}
	return slices.ContainsFunc(got, func(s tracker.Event) bool { return sameReport(&s, ev) }), nil
}

func sameReport(a, b *tracker.Event) bool {
	if a.Type != b.Type || a.VehicleID != b.VehicleID || a.ZoneID != b.ZoneID || a.Time.Sub(b.Time).Abs() >= time.Microsecond {
		return false
	}
	for _, k := range reportAttrs {
		if fmt.Sprint(a.Attrs[k]) != fmt.Sprint(b.Attrs[k]) {
			return false
		}
	}
	return true
}

// Router sends gate reads, terminal events and alerts to the owner of their vehicle's partition,
// which judges and commits them: a gateway's tracker.EventSink, the API's Ingest and its gate
// handler on a node that does not own the vehicle.
type Router struct {
	c *Conn
	// Vehicle names the vehicle a gate read is of (plate, card), "" if none: the registry is on
	// every node.
	Vehicle func(g tracker.GateRead) string
	// Timeout bounds each request (default 5 s): a partition without an owner for longer is
	// ErrNoOwner.
	Timeout time.Duration
}

// NewRouter returns a router over c.
func NewRouter(c *Conn, vehicle func(g tracker.GateRead) string) *Router {
	return &Router{c: c, Vehicle: vehicle, Timeout: 5 * time.Second}
}

func (r *Router) request(ctx context.Context, vehicleID string, req judgeRequest) (judgeReply, error) {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	req.Deadline, _ = ctx.Deadline()
	b, err := json.Marshal(req)
	if err != nil {
		return judgeReply{}, err
	}
	m, err := r.c.nc.RequestWithContext(ctx, judgeSubject(Partition(vehicleID, r.c.cfg.Partitions)), b)
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
		return judgeReply{}, fmt.Errorf("%w (vehicle %s: %v)", ErrNoOwner, vehicleID, err)
	}
	if err != nil {
		return judgeReply{}, fmt.Errorf("cluster: asking the vehicle's owner: %w", err)
	}
	var rep judgeReply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		return judgeReply{}, fmt.Errorf("cluster: the owner's answer does not decode: %w", err)
	}
	if rep.Error != "" {
		return rep, fmt.Errorf("cluster: the vehicle's owner: %s", rep.Error)
	}
	return rep, nil
}

// JudgeGate has the owner of the vehicle the read names judge it (nothing is stored yet: Emit
// stores the event). A read of no known vehicle is judged by the owner of partition of "".
func (r *Router) JudgeGate(ctx context.Context, g tracker.GateRead) (tracker.Event, []tracker.Alert, error) {
	rep, err := r.request(ctx, r.Vehicle(g), judgeRequest{Gate: &g})
	return rep.Event, rep.Alerts, err
}

// Weighing has the owner of the vehicle the reading names (card, then plate) judge, store and
// commit it: mapui.Config.WeighingCommit. ErrNoOwner: nothing was stored.
func (r *Router) Weighing(ctx context.Context, w tracker.Weighing) (tracker.Weighing, []tracker.Alert, error) {
	rep, err := r.request(ctx, r.Vehicle(tracker.GateRead{Plate: w.Plate, CardID: w.CardID}), judgeRequest{Weighing: &w})
	if err != nil {
		return w, nil, err
	}
	if rep.Weighing == nil {
		return w, nil, errors.New("cluster: the vehicle's owner answered without the reading")
	}
	return *rep.Weighing, rep.Alerts, nil
}

// Emit has each vehicle's owner judge and commit its events and alerts; it returns once all
// are stored, or the first error (ErrNoOwner among them): a terminal is then not acknowledged
// and resends.
func (r *Router) Emit(ctx context.Context, events []tracker.Event, alerts []tracker.Alert) error {
	var order []string
	byVehicle := map[string]*judgeRequest{}
	get := func(id string) *judgeRequest {
		req := byVehicle[id]
		if req == nil {
			req = &judgeRequest{}
			byVehicle[id] = req
			order = append(order, id)
		}
		return req
	}
	for _, ev := range events {
		req := get(ev.VehicleID)
		req.Events = append(req.Events, ev)
	}
	for _, a := range alerts {
		req := get(a.VehicleID)
		req.Alerts = append(req.Alerts, a)
	}
	for _, id := range order {
		if _, err := r.request(ctx, id, *byVehicle[id]); err != nil {
			return err
		}
	}
	return nil
}

// StoreError is nil: the owners report their store's errors with each request.
func (r *Router) StoreError() error { return nil }
