package rules_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/rules"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

// weighedDecl is an inbound declaration of net kg.
func weighedDecl(id, vehicle string, net float64) tracker.Declaration {
	d := inbound(id, vehicle, "port-a")
	d.Cargo, d.DeclaredNetKg = "炼焦煤", &net
	return d
}

// toPortScale drives from Mongolia into port A's Chinese side and waits at the scale house;
// toYard goes on down the corridor into the yard.
func toPortScale(tr *track) *track {
	return tr.to(42.005, 110.0, 40).wait(5*time.Minute).to(41.995, 110.0, 20).wait(5 * time.Minute)
}

func toYard(tr *track) *track { return tr.to(41.985, 110.0, 20).to(41.80, 110.0, 60) }

// weigh posts a reading and commits what the rules made of it, as the server does.
func (e *env) weigh(w tracker.Weighing) tracker.Weighing {
	e.t.Helper()
	w, out := e.rules.Weighing(e.ctx, w)
	if _, err := e.store.AddWeighing(e.ctx, w); err != nil {
		e.t.Fatal(err)
	}
	e.emit(out.Events, out.Alerts)
	return w
}

func reading(scale, zone, plate string, at time.Time, gross, tare float64) tracker.Weighing {
	return tracker.Weighing{ScaleID: scale, ZoneID: zone, Time: at, Plate: plate, GrossKg: gross, TareKg: tare, NetKg: gross - tare, Operator: "王五"}
}

// A truck 6.7 % heavier than declared is a weight_mismatch; its control, 1 % over, is silent.
func TestWeightMismatch(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("w1"), truck("w2")},
		[]tracker.Declaration{weighedDecl("d-w1", "w1", 30000), weighedDecl("d-w2", "w2", 30000)})
	for i, id := range []string{"w1", "w2"} {
		tr := toPortScale(newTrack(id, t0, 42.05, 110.0, uint64(10+i)))
		e.submit(tr.fixes...)
		net := []float64{32000, 30300}[i]
		w := e.weigh(reading("scale-port-a", "port-a", []string{"蒙K ", "蒙K·"}[i]+id, tr.t, 15000+net, 15000))
		if w.VehicleID != id || w.DeclarationID != "d-"+id {
			t.Errorf("reading matched to %q, %q, want %s, d-%s", w.VehicleID, w.DeclarationID, id, id)
		}
		tr.fixes = tr.fixes[:0]
		toYard(tr).wait(40 * time.Minute)
		e.submit(tr.fixes...)
		e.check(tr.t)
	}
	as := e.expect("w1", tracker.AlertWeightMismatch)
	if ev := evidenceOf(t, as[0]); ev["declared_net_kg"] != 30000.0 || ev["net_kg"] != 32000.0 || ev["tolerance_pct"] != 2.0 || as[0].DeclarationID == nil {
		t.Errorf("evidence %v, declaration %v", ev, as[0].DeclarationID)
	}
	e.expect("w2")
	if evs := e.events("w2", tracker.EventWeighing); len(evs) != 1 || evs[0].Attrs["scale_id"] != "scale-port-a" {
		t.Errorf("weighing events of w2: %+v", evs)
	}
}

// A truck never weighed between port and yard is weighing_skipped once the grace after its
// arrival has passed, not before; its control is weighed at the yard's scale after arrival
// (its declaration already completed) and stays silent.
func TestWeighingSkipped(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("k1"), truck("k2")},
		[]tracker.Declaration{weighedDecl("d-k1", "k1", 30000), weighedDecl("d-k2", "k2", 30000)})
	var arrived time.Time
	for i, id := range []string{"k1", "k2"} {
		tr := toYard(toPortScale(newTrack(id, t0, 42.05, 110.0, uint64(20+i))))
		arrived = tr.t
		tr.wait(10 * time.Minute)
		e.submit(tr.fixes...)
	}
	w := e.weigh(reading("scale-yard-a", "yard-a", "蒙Kk2", arrived.Add(9*time.Minute), 45100, 15000))
	if w.DeclarationID != "d-k2" {
		t.Errorf("yard reading after arrival matched to %q, want d-k2", w.DeclarationID)
	}
	e.check(arrived.Add(20 * time.Minute))
	e.expect("k1")
	e.check(arrived.Add(31 * time.Minute))
	as := e.expect("k1", tracker.AlertWeighingSkipped)
	if as[0].ZoneID == nil || *as[0].ZoneID != "yard-a" || !strings.Contains(as[0].Message, "port-a") {
		t.Errorf("weighing_skipped %+v", as[0])
	}
	e.check(arrived.Add(2 * time.Hour))
	e.expect("k1", tracker.AlertWeighingSkipped)
	e.expect("k2")
}

// A reading stored before a restart counts: no weighing_skipped after it.
func TestWeighingSkippedAcrossRestart(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("r1")}, []tracker.Declaration{weighedDecl("d-r1", "r1", 30000)})
	tr := toPortScale(newTrack("r1", t0, 42.05, 110.0, 30))
	e.submit(tr.fixes...)
	e.weigh(reading("scale-port-a", "port-a", "蒙Kr1", tr.t, 45000, 15000))
	e.restart()
	tr.fixes = tr.fixes[:0]
	toYard(tr).wait(45 * time.Minute)
	e.submit(tr.fixes...)
	e.check(tr.t)
	e.expect("r1")
}

// The rules keep an inbound trip past its fixes: restarted after k1 and k2 arrived in their yard
// (which completed their declarations) and after k3 crossed in, the rules still match k2's yard
// reading to its trip (a weight_mismatch), raise weighing_skipped for k1 once, and for k3, whose
// crossing came before the restart and its arrival after.
func TestWeighingTripAcrossRestart(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("k1"), truck("k2"), truck("k3")},
		[]tracker.Declaration{weighedDecl("d-k1", "k1", 30000), weighedDecl("d-k2", "k2", 30000), weighedDecl("d-k3", "k3", 30000)})
	var arrived time.Time
	for i, id := range []string{"k1", "k2"} {
		tr := toYard(toPortScale(newTrack(id, t0, 42.05, 110.0, uint64(40+i))))
		arrived = tr.t
		tr.wait(10 * time.Minute)
		e.submit(tr.fixes...)
	}
	k3 := toPortScale(newTrack("k3", t0, 42.05, 110.0, 42))
	e.submit(k3.fixes...)
	e.restart()
	w := e.weigh(reading("scale-yard-a", "yard-a", "蒙Kk2", arrived.Add(15*time.Minute), 47000, 15000))
	if w.DeclarationID != "d-k2" {
		t.Errorf("yard reading after the restart matched to %q, want d-k2 (arrived before the restart)", w.DeclarationID)
	}
	e.expect("k2", tracker.AlertWeightMismatch)
	k3.fixes = k3.fixes[:0]
	k3 = toYard(k3)
	e.submit(k3.fixes...)
	e.check(arrived.Add(31 * time.Minute))
	as := e.expect("k1", tracker.AlertWeighingSkipped)
	if enter := e.events("k1", tracker.EventZoneEnter); len(enter) == 0 || as[0].Lat != enter[len(enter)-1].Lat || !as[0].Time.Equal(enter[len(enter)-1].Time) {
		t.Errorf("k1's weighing_skipped at %v (%v, %v): want when and where it entered the yard, %+v", as[0].Time, as[0].Lat, as[0].Lon, enter)
	}
	e.restart()
	e.check(k3.t.Add(31 * time.Minute))
	e.expect("k1", tracker.AlertWeighingSkipped)
	e.expect("k2", tracker.AlertWeightMismatch)
	e.expect("k3", tracker.AlertWeighingSkipped)
}

// Port and yard scales 5 % apart on one truck: double_weighing. The control's two readings
// are 0.25 % apart. Earlier trips show the yard's scale reading 3 % heavy against two other
// scales: the alert names it.
func TestDoubleWeighing(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("b1"), truck("b2"), truck("b3")},
		[]tracker.Declaration{weighedDecl("d-b1", "b1", 30000), weighedDecl("d-b2", "b2", 30000), weighedDecl("d-b3", "b3", 30000)})
	for i, id := range []string{"b1", "b2"} {
		tr := toPortScale(newTrack(id, t0, 42.05, 110.0, uint64(40+i)))
		e.submit(tr.fixes...)
		e.weigh(reading("scale-port-a", "port-a", "蒙K"+id, tr.t, 45000, 15000))
		tr.fixes = tr.fixes[:0]
		toYard(tr)
		e.submit(tr.fixes...)
		// The yard's own tare record makes the net agree with the declaration: only the
		// scales' gross readings disagree.
		gross := []float64{47250, 45110}[i]
		e.weigh(reading("scale-yard-a", "yard-a", "蒙K"+id, tr.t.Add(5*time.Minute), gross, gross-30000))
	}
	as := e.expect("b1", tracker.AlertDoubleWeighing)
	if ev := evidenceOf(t, as[0]); ev["drifting_scales"] != nil || !strings.Contains(as[0].Message, "load changed") {
		t.Errorf("double_weighing without history names a scale: %s %v", as[0].Message, ev)
	}
	e.expect("b2")

	// History: the yard's scale 3 % heavy against the port's and a third scale.
	for i := range 6 {
		other := []string{"scale-port-a", "scale-house-b"}[i%2]
		at := t0.Add(-time.Duration(i+1) * 24 * time.Hour)
		for _, w := range []tracker.Weighing{
			{ScaleID: other, DeclarationID: "old-" + other + string(rune('a'+i)), GrossKg: 40000, Time: at},
			{ScaleID: "scale-yard-a", DeclarationID: "old-" + other + string(rune('a'+i)), GrossKg: 41200, Time: at.Add(time.Hour)},
			{ScaleID: other, DeclarationID: "calib-" + string(rune('a'+i)), GrossKg: 40000, Time: at},
			{ScaleID: []string{"scale-house-b", "scale-port-a"}[i%2], DeclarationID: "calib-" + string(rune('a'+i)), GrossKg: 40010, Time: at},
		} {
			if _, err := e.store.AddWeighing(e.ctx, w); err != nil {
				t.Fatal(err)
			}
		}
	}
	tr := toPortScale(newTrack("b3", t0.Add(3*time.Hour), 42.05, 110.0, 43))
	e.submit(tr.fixes...)
	e.weigh(reading("scale-port-a", "port-a", "蒙Kb3", tr.t, 45000, 15000))
	tr.fixes = tr.fixes[:0]
	toYard(tr)
	e.submit(tr.fixes...)
	e.weigh(reading("scale-yard-a", "yard-a", "蒙Kb3", tr.t.Add(5*time.Minute), 46350, 16350))
	as = e.expect("b3", tracker.AlertDoubleWeighing)
	ev := evidenceOf(t, as[0])
	ds, _ := ev["drifting_scales"].([]any)
	if len(ds) != 1 || ds[0].(map[string]any)["scale_id"] != "scale-yard-a" || !strings.Contains(as[0].Message, "scale scale-yard-a reads +2.9%") {
		t.Errorf("double_weighing %s, drifting %v", as[0].Message, ds)
	}
}

// Two scales that disagree trip after trip, with no third to compare: the alert says one of
// the two drifts, not which.
func TestDoubleWeighingPairDisagrees(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("p1")}, []tracker.Declaration{weighedDecl("d-p1", "p1", 30000)})
	for i := range 4 {
		at := t0.Add(-time.Duration(i+1) * 24 * time.Hour)
		id := "old-" + string(rune('a'+i))
		for _, w := range []tracker.Weighing{{ScaleID: "scale-port-a", DeclarationID: id, GrossKg: 40000, Time: at},
			{ScaleID: "scale-yard-a", DeclarationID: id, GrossKg: 40600, Time: at.Add(time.Hour)}} {
			if _, err := e.store.AddWeighing(e.ctx, w); err != nil {
				t.Fatal(err)
			}
		}
	}
	tr := toPortScale(newTrack("p1", t0, 42.05, 110.0, 60))
	e.submit(tr.fixes...)
	e.weigh(reading("scale-port-a", "port-a", "蒙Kp1", tr.t, 45000, 15000))
	tr.fixes = tr.fixes[:0]
	toYard(tr)
	e.submit(tr.fixes...)
	e.weigh(reading("scale-yard-a", "yard-a", "蒙Kp1", tr.t.Add(5*time.Minute), 45675, 15675))
	a := e.expect("p1", tracker.AlertDoubleWeighing)[0]
	if !strings.Contains(a.Message, "disagreed by +1.5% on 5 trips: one of them drifts") || evidenceOf(t, a)["drifting_scales"] != nil {
		t.Errorf("double_weighing %s", a.Message)
	}
}

// A cargo's own tolerance: coal may be 3 % off, copper concentrate 1 %; another cargo takes the
// default 2 %. Each reading is 2.5 % heavy.
func TestWeightToleranceByCargo(t *testing.T) {
	ctx := t.Context()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	zones, err := st.PutZones(ctx, testZones())
	if err != nil {
		t.Fatal(err)
	}
	geo := geofence.NewEmbedded(geofence.Options{})
	if err := geo.SetZones(ctx, zones); err != nil {
		t.Fatal(err)
	}
	cargo := map[string]string{"c1": "蒙古国 炼焦煤", "c2": "铜精矿", "c3": "萤石"}
	for id, c := range cargo {
		if err := st.CreateVehicle(ctx, truck(id)); err != nil {
			t.Fatal(err)
		}
		d := weighedDecl("d-"+id, id, 30000)
		d.Cargo = c
		if err := st.CreateDeclaration(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	e := rules.New(rules.Config{Engine: geo, Store: st, Now: func() time.Time { return t0 },
		CargoTolerancePct: map[string]float64{"煤": 3, "铜精矿": 1, "": 0.1}})
	if err := e.Load(ctx); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"c1": false, "c2": true, "c3": true} {
		_, out := e.Weighing(ctx, reading("scale-port-a", "port-a", "蒙K"+id, t0, 15000+30750, 15000))
		if got := len(out.Alerts) == 1 && out.Alerts[0].Type == tracker.AlertWeightMismatch; got != want {
			t.Errorf("%s (%s) 2.5 %% heavy: mismatch %v, want %v (%+v)", id, cargo[id], got, want, out.Alerts)
		}
	}
}
