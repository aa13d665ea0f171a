package rules_test

import (
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// cardEvent is a terminal's report of a driver's card, as the JT/T 808 gateway makes it.
func cardEvent(vehicle string, at time.Time, inserted bool, card, idNumber, name string) tracker.Event {
	ev := tracker.Event{Type: tracker.EventDriverIdentity, Time: at, VehicleID: vehicle,
		Attrs: map[string]any{"inserted": inserted, "device_id": "dev-" + vehicle}}
	for k, v := range map[string]string{"card_id": card, "certificate": card, "id_number": idNumber, "driver_name": name} {
		if v != "" {
			ev.Attrs[k] = v
		}
	}
	return ev
}

// report hands a terminal's event to the rules and commits what they return, as the server does.
func (e *env) report(ev tracker.Event) {
	e.t.Helper()
	e.setClock(ev.Time)
	out := e.rules.Event(e.ctx, ev)
	e.emit(out.Events, out.Alerts)
}

func withDriver(d tracker.Declaration, card string) tracker.Declaration {
	d.DriverCard = card
	return d
}

// A card other than the declared driver's, inserted on the trip, raises driver_mismatch with
// both cards, the driver's name, the place and the declaration; inserting it again, or the
// terminal sending the report again, adds nothing. The control truck's driver is the declared
// one (named by the ID number, typed in lower case with spaces) and raises nothing, nor does
// removing the card.
func TestDriverMismatch(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("dr1"), truck("dr2")}, []tracker.Declaration{
		withDriver(inbound("d-dr1", "dr1", "port-a"), "CY152101000001"),
		withDriver(inbound("d-dr2", "dr2", "port-a"), " 152101198001011234x "),
	})
	tr := newTrack("dr1", t0, 41.95, 110.0, 51).wait(time.Minute)
	e.submit(tr.fixes...)
	at := tr.last().Time.Add(5 * time.Second)
	wrong := cardEvent("dr1", at, true, "CY152101009999", "152101199002021234", "王五")
	e.report(wrong)
	e.report(wrong) // sent again
	e.report(cardEvent("dr1", at.Add(time.Minute), false, "", "", ""))
	e.report(cardEvent("dr1", at.Add(2*time.Minute), true, "CY152101009999", "152101199002021234", "王五"))

	a := e.expect("dr1", tracker.AlertDriverMismatch)[0]
	if a.Severity != tracker.SeverityWarning || a.DeclarationID == nil || *a.DeclarationID != "d-dr1" || !a.Time.Equal(at) ||
		a.Lat == 0 || a.Message == "" {
		t.Errorf("alert %+v", a)
	}
	m := evidenceOf(t, a)
	presented, _ := m["presented_card"].(map[string]any)
	place, _ := m["place"].(map[string]any)
	if m["declared_card"] != "CY152101000001" || m["declaration_id"] != "d-dr1" || m["driver_name"] != "王五" ||
		presented["card_id"] != "CY152101009999" || presented["id_number"] != "152101199002021234" ||
		place["source"] != "last_valid_fix" || place["zones"] == nil {
		t.Errorf("evidence %v", m)
	}
	if evs := e.events("dr1", tracker.EventDriverIdentity); len(evs) != 4 {
		t.Errorf("driver events of dr1: %d, want all 4 stored", len(evs))
	}

	// The control.
	e.report(cardEvent("dr2", at, true, "CY152101000002", "152101198001011234X", "张三"))
	e.report(cardEvent("dr2", at.Add(time.Hour), false, "", "", ""))
	e.check(at.Add(2 * time.Hour))
	e.expect("dr2")
	if evs := e.events("dr2", tracker.EventDriverIdentity); len(evs) != 2 {
		t.Errorf("driver events of dr2: %d, want 2", len(evs))
	}
}

// A declaration that names no driver, a card that could not be read and a card outside any
// declaration are no mismatch.
func TestDriverNoMismatch(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("dr3"), truck("dr4"), truck("dr5")}, []tracker.Declaration{
		inbound("d-dr3", "dr3", "port-a"),
		withDriver(inbound("d-dr4", "dr4", "port-a"), "CY152101000004"),
	})
	e.report(cardEvent("dr3", t0, true, "CY152101009999", "", "王五"))
	unread := cardEvent("dr4", t0, true, "", "", "")
	unread.Attrs["read_result"] = 1
	e.report(unread)
	e.report(cardEvent("dr4", t0.Add(13*time.Hour), true, "CY152101009999", "", "王五")) // after valid_to
	e.report(cardEvent("dr5", t0, true, "CY152101009999", "", "王五"))
	e.check(t0.Add(time.Hour))
	for _, v := range []string{"dr3", "dr4", "dr5"} {
		e.expect(v)
	}
}

// A card already in the reader when a declaration naming another driver arrives is found by
// the timer, once; a card removed before it is not.
func TestDriverMismatchCardBeforeDeclaration(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("dr6"), truck("dr7")}, nil)
	e.report(cardEvent("dr6", t0.Add(-3*time.Hour), true, "CY152101009999", "", "王五"))
	e.report(cardEvent("dr7", t0.Add(-3*time.Hour), true, "CY152101009999", "", "王五"))
	e.report(cardEvent("dr7", t0.Add(-2*time.Hour), false, "", "", ""))
	e.check(t0.Add(-90 * time.Minute))
	for _, id := range []string{"dr6", "dr7"} {
		d := withDriver(inbound("d-"+id, id, "port-a"), "CY152101000006")
		if err := e.store.CreateDeclaration(e.ctx, d); err != nil {
			t.Fatal(err)
		}
		e.rules.DeclarationChanged(e.ctx, d)
	}
	e.check(t0)
	e.check(t0.Add(time.Minute))
	a := e.expect("dr6", tracker.AlertDriverMismatch)[0]
	if !a.Time.Equal(t0.Add(-time.Hour)) || a.DeclarationID == nil || *a.DeclarationID != "d-dr6" {
		t.Errorf("alert %+v, want at the declaration's start", a)
	}
	if m := evidenceOf(t, a); m["place"].(map[string]any)["source"] != "unknown" {
		t.Errorf("evidence %v", m)
	}
	e.expect("dr7")
}

// The card in the reader outlives a restart: a card inserted before the declaration began is
// judged, after the restart, on the declared trip, and a mismatch raised before the restart is
// not raised again after it. The control truck's card is the declared driver's and raises
// nothing, before or after.
func TestDriverMismatchAcrossRestart(t *testing.T) {
	e := newEnv(t, []tracker.Vehicle{truck("dr8"), truck("dr9"), truck("dr10")}, []tracker.Declaration{
		withDriver(inbound("d-dr10", "dr10", "port-a"), "CY152101000010"),
	})
	before := t0.Add(-3 * time.Hour) // before the declarations begin
	e.report(cardEvent("dr8", before, true, "CY152101009999", "", "王五"))
	e.report(cardEvent("dr9", before, true, "CY152101000009", "", "张三"))
	e.report(cardEvent("dr10", t0, true, "CY152101009998", "", "赵六")) // on the trip: raised now
	e.expect("dr10", tracker.AlertDriverMismatch)

	e.restart()
	for _, id := range []string{"dr8", "dr9"} {
		d := withDriver(inbound("d-"+id, id, "port-a"), "CY152101000009")
		if err := e.store.CreateDeclaration(e.ctx, d); err != nil {
			t.Fatal(err)
		}
		e.rules.DeclarationChanged(e.ctx, d)
	}
	e.submit(newTrack("dr8", t0, 42.005, 110.0, 81).to(41.985, 110.0, 20).fixes...)
	e.submit(newTrack("dr9", t0, 42.005, 110.0, 82).to(41.985, 110.0, 20).fixes...)
	e.setClock(t0.Add(5 * time.Minute))
	out, err := e.rules.Check(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Alerts {
		if a.VehicleID == "dr10" {
			t.Errorf("dr10's mismatch raised again after the restart: %+v", a)
		}
	}
	e.emit(out.Events, out.Alerts)

	a := e.expect("dr8", tracker.AlertDriverMismatch)[0]
	if a.DeclarationID == nil || *a.DeclarationID != "d-dr8" || !a.Time.Equal(t0.Add(-time.Hour)) {
		t.Errorf("alert %+v, want on d-dr8 at its start", a)
	}
	if m := evidenceOf(t, a); m["presented_card"].(map[string]any)["card_id"] != "CY152101009999" || m["driver_name"] != "王五" {
		t.Errorf("evidence %v", m)
	}
	e.expect("dr9")
	e.expect("dr10", tracker.AlertDriverMismatch)
}
