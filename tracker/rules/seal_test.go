package rules_test

import (
	"math"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// sealed gives every fix the seal state and the seal's own protocol, the way a JT701 reports.
func sealed(fixes []tracker.Fix, state string) {
	for i := range fixes {
		fixes[i].Protocol = tracker.ProtocolJT600
		fixes[i].Attrs = map[string]any{tracker.AttrSealState: state}
	}
}

// unlockEvent makes f the seal's report of an unlock by card.
func unlockEvent(f *tracker.Fix) {
	f.Attrs[tracker.AttrSealEvent] = tracker.SealEventUnlocked
	f.Attrs[tracker.AttrUnlockMethod] = tracker.UnlockCard
	f.Attrs[tracker.AttrUnlockCard] = "0012260888"
}

// A sealed truck opened on the corridor between port and yard raises seal_opened with the
// place, the method and its declaration; the control truck, unlocked for inspection inside
// the port on its declaration, raises nothing and has its seal_unlocked event.
func TestSealOpenedBetweenPortAndYard(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("s1"), truck("s2")},
		[]tracker.Declaration{inbound("d-s1", "s1", "port-a"), inbound("d-s2", "s2", "port-a")})
	var open, shut int
	tr := newTrack("s1", t0, 42.05, 110.0, 41).to(42.005, 110.0, 40).wait(5*time.Minute).to(41.985, 110.0, 20).
		to(41.88, 110.0, 60).mark(&open).wait(3*time.Minute).mark(&shut).to(41.80, 110.0, 60).wait(10 * time.Minute)
	sealed(tr.fixes, tracker.SealLocked)
	sealed(tr.fixes[open:shut], tracker.SealUnlocked)
	unlockEvent(&tr.fixes[open+3]) // the lock event follows the status that showed it open
	e.submit(tr.fixes...)

	a := e.expect("s1", tracker.AlertSealOpened)[0]
	if a.Severity != tracker.SeverityCritical || a.DeclarationID == nil || *a.DeclarationID != "d-s1" || a.Late ||
		!a.Time.Equal(tr.fixes[open].Time) || math.Abs(a.Lat-41.88) > 0.001 || math.Abs(a.Lon-110.0) > 0.001 {
		t.Errorf("alert %+v", a)
	}
	m := evidenceOf(t, a)
	place := m["place"].(map[string]any)
	if m["method"] != tracker.UnlockCard || m["card"] != "0012260888" || m["seal_state"] != tracker.SealUnlocked ||
		m["declaration_id"] != "d-s1" || place["source"] != "fix" || place["nearest_zone_id"] != "yard-a" ||
		math.Abs(place["nearest_zone_m"].(float64)-7800) > 300 || place["zones"].([]any)[0] != "corridor-a" {
		t.Errorf("evidence %v", m)
	}
	if evs := e.events("s1", tracker.EventSealUnlocked); len(evs) != 1 || evs[0].Attrs["alert"] != true {
		t.Errorf("seal events %+v, want one with its alert", evs)
	}

	// The control: unlocked and locked again inside the port during the queue.
	var in, out int
	ctl := newTrack("s2", t0, 42.05, 110.0, 42).to(42.005, 110.0, 40).mark(&in).wait(5*time.Minute).mark(&out).
		to(41.985, 110.0, 20).to(41.80, 110.0, 60).wait(10 * time.Minute)
	sealed(ctl.fixes, tracker.SealLocked)
	sealed(ctl.fixes[in+6:out-6], tracker.SealUnlocked)
	unlockEvent(&ctl.fixes[in+7])
	e.submit(ctl.fixes...)
	e.expect("s2")
	evs := e.events("s2", tracker.EventSealUnlocked)
	if len(evs) != 1 || evs[0].ZoneID != "port-a" || evs[0].Attrs["alert"] != false || evs[0].Attrs["declaration_id"] != "d-s2" {
		t.Errorf("control seal events %+v, want one in port-a without alert", evs)
	}
}

// Each opening is an incident: locked again and opened again is a second alert; a rope cut
// during an opening adds to that opening's alert.
func TestSealIncidents(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("s3")}, []tracker.Declaration{inbound("d-s3", "s3", "port-a")})
	var a1, a2, b1, b2 int
	tr := newTrack("s3", t0, 41.985, 110.0, 43).to(41.95, 110.0, 60).mark(&a1).wait(2*time.Minute).mark(&a2).
		to(41.90, 110.0, 60).mark(&b1).wait(2*time.Minute).mark(&b2).to(41.85, 110.0, 60)
	sealed(tr.fixes, tracker.SealLocked)
	sealed(tr.fixes[a1:a2], tracker.SealUnlocked)
	sealed(tr.fixes[b1:b2], tracker.SealUnlocked)
	tr.fixes[b1+4].Attrs = map[string]any{tracker.AttrSealState: tracker.SealRopeCut, tracker.AttrSealEvent: tracker.SealEventRopeCut}
	e.submit(tr.fixes...)
	as := e.expect("s3", tracker.AlertSealOpened, tracker.AlertSealOpened)
	if m := evidenceOf(t, as[1]); m["seal_state"] != tracker.SealRopeCut || !as[1].UpdatedAt.Equal(tr.fixes[b1+4].Time) {
		t.Errorf("second opening %+v %v, want updated with the rope cut", as[1], m)
	}
	if n := len(e.events("s3", tracker.EventSealUnlocked)); n != 2 {
		t.Errorf("%d seal events, want 2", n)
	}
}

// A rope cut reported without a position is placed where the truck was last seen.
func TestSealCutWithoutFix(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("s4")}, []tracker.Declaration{inbound("d-s4", "s4", "port-a")})
	tr := newTrack("s4", t0, 41.985, 110.0, 44).to(41.90, 110.0, 60).wait(time.Minute)
	sealed(tr.fixes, tracker.SealLocked)
	last := tr.last()
	cut := tracker.Fix{VehicleID: "s4", DeviceID: "dev-s4", Protocol: tracker.ProtocolJT600, Time: last.Time.Add(5 * time.Second),
		Attrs: map[string]any{tracker.AttrSealState: tracker.SealRopeCut, tracker.AttrSealEvent: tracker.SealEventRopeCut}}
	e.submit(tr.fixes...)
	e.submit(cut)
	a := e.expect("s4", tracker.AlertSealOpened)[0]
	place := evidenceOf(t, a)["place"].(map[string]any)
	if place["source"] != "last_valid_fix" || a.Lat != last.Lat || a.Lon != last.Lon {
		t.Errorf("alert %+v at %v, want at the last fix %v, %v", a, place, last.Lat, last.Lon)
	}
}

// Without a declaration, or from a seal never seen locked, an unlocked state is no alert; a
// phone cannot fake a seal; a refused unlock is no opening.
func TestSealSilent(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("s5"), truck("s6"), truck("s7"), truck("s8")},
		[]tracker.Declaration{inbound("d-s6", "s6", "port-a"), inbound("d-s7", "s7", "port-a"), inbound("d-s8", "s8", "port-a")})
	free := newTrack("s5", t0, 41.985, 110.0, 45).to(41.90, 110.0, 60)
	sealed(free.fixes, tracker.SealLocked)
	sealed(free.fixes[len(free.fixes)/2:], tracker.SealUnlocked)
	unlockEvent(&free.fixes[len(free.fixes)-1])
	never := newTrack("s6", t0, 41.985, 110.0, 46).to(41.90, 110.0, 60)
	sealed(never.fixes, tracker.SealUnlocked)
	phone := newTrack("s7", t0, 41.985, 110.0, 47).to(41.90, 110.0, 60)
	for i := range phone.fixes {
		phone.fixes[i].Protocol = tracker.ProtocolOsmAnd
		phone.fixes[i].Attrs = map[string]any{tracker.AttrSealState: tracker.SealLocked}
	}
	unlockEvent(&phone.fixes[len(phone.fixes)-1])
	refused := newTrack("s8", t0, 41.985, 110.0, 48).to(41.90, 110.0, 60)
	sealed(refused.fixes, tracker.SealLocked)
	refused.fixes[len(refused.fixes)-1].Attrs[tracker.AttrSealEvent] = tracker.SealEventUnlockRefused
	e.submit(free.fixes...)
	e.submit(never.fixes...)
	e.submit(phone.fixes...)
	e.submit(refused.fixes...)
	for _, v := range []string{"s5", "s6", "s7", "s8"} {
		e.expect(v)
	}
	if n := len(e.events("s5", tracker.EventSealUnlocked)); n != 1 {
		t.Errorf("%d seal events of the undeclared truck, want 1", n)
	}
	if n := len(e.events("s7", tracker.EventSealUnlocked)); n != 0 {
		t.Errorf("%d seal events of a phone, want 0", n)
	}
}

// A seal that lost its network reports the unlock from its memory after the live fixes that
// followed: the unlock still raises seal_opened, marked late. (A state alone in the backfill
// cannot be placed among the live ones: the lock event is what counts.)
func TestSealLateUnlock(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("s9")}, []tracker.Declaration{inbound("d-s9", "s9", "port-a")})
	var from, open, shut, to int
	tr := newTrack("s9", t0, 41.985, 110.0, 49).to(41.92, 110.0, 60).mark(&from).to(41.90, 110.0, 60).mark(&open).
		wait(2*time.Minute).mark(&shut).to(41.88, 110.0, 60).mark(&to).to(41.80, 110.0, 60).wait(5 * time.Minute)
	sealed(tr.fixes, tracker.SealLocked)
	sealed(tr.fixes[open:shut], tracker.SealUnlocked)
	unlockEvent(&tr.fixes[open+2])
	e.blindUpload(tr.fixes, from, to)
	a := e.expect("s9", tracker.AlertSealOpened)[0]
	if !a.Late || !a.Time.Equal(tr.fixes[open+2].Time) || a.DeclarationID == nil || *a.DeclarationID != "d-s9" {
		t.Errorf("alert %+v: want late, at the unlock, on d-s9", a)
	}
	if m := evidenceOf(t, a); m["method"] != tracker.UnlockCard || m["late"] != true {
		t.Errorf("evidence %v", m)
	}
}

// Controls in the yard: a truck unsealed on arrival (its inbound declaration fulfilled there)
// and one unsealed in the yard it leaves from on an outbound declaration raise nothing.
func TestSealUnlockedInYardIsSilent(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("y1"), truck("y2")},
		[]tracker.Declaration{inbound("d-y1", "y1", "port-a"), outbound("d-y2", "y2")})
	var arrived int
	in := newTrack("y1", t0, 41.985, 110.0, 50).to(41.80, 110.0, 60).mark(&arrived).wait(10 * time.Minute)
	sealed(in.fixes, tracker.SealLocked)
	sealed(in.fixes[arrived+6:], tracker.SealUnlocked)
	unlockEvent(&in.fixes[arrived+7])
	var open int
	out := newTrack("y2", t0, 41.80, 110.0, 51).wait(5*time.Minute).mark(&open).wait(5*time.Minute).to(41.90, 110.0, 60)
	sealed(out.fixes, tracker.SealLocked)
	sealed(out.fixes[open:], tracker.SealUnlocked)
	unlockEvent(&out.fixes[open+1])
	e.submit(in.fixes...)
	e.submit(out.fixes...)
	e.expect("y1")
	e.expect("y2")
	for _, c := range []struct{ vehicle, decl string }{{"y1", ""}, {"y2", "d-y2"}} {
		evs := e.events(c.vehicle, tracker.EventSealUnlocked)
		if len(evs) != 1 || evs[0].Attrs["alert"] != false || (evs[0].Attrs["declaration_id"] == nil) != (c.decl == "") {
			t.Errorf("%s: seal events %+v, want one without alert, declaration %q", c.vehicle, evs, c.decl)
		}
	}
	if evs := e.events("y2", tracker.EventSealUnlocked); len(evs) == 1 && evs[0].ZoneID != "yard-a" {
		t.Errorf("outbound unseal in zone %q, want yard-a", evs[0].ZoneID)
	}
}
