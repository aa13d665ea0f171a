package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// testAlertConfirmations: an open alert confirmed is resolved with the plate of the moment; a
// resolved one is confirmed without changing who resolved it; twice is refused with nothing
// changed; an unknown alert is not found.
func testAlertConfirmations(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.CreateVehicle(ctx, tracker.Vehicle{ID: "cv1", Kind: tracker.KindTruck, Plate: "蒙K·C0001"}); err != nil {
		t.Fatal(err)
	}
	b := &tracker.Batch{Alerts: []tracker.Alert{newAlert("cv1", "detour:cv1:1", base), newAlert("cv1", "stop:cv1:2", base.Add(time.Minute))}}
	commit(t, s, b)
	open, done := b.Alerts[0].ID, b.Alerts[1].ID
	if _, err := s.SetAlertStatus(ctx, done, tracker.StatusResolved, "officer1", "checked", base.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	at := base.Add(3 * time.Minute)
	a, err := s.ConfirmAlert(ctx, open, "officer2", "cargo hidden under coal", at)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != tracker.StatusResolved || a.ResolvedBy != "officer2" || a.ResolvedAt == nil || !a.ResolvedAt.Equal(at) || a.Note != tracker.ConfirmedNote("cargo hidden under coal") {
		t.Errorf("confirmed open alert = %+v", a)
	}
	a, err = s.ConfirmAlert(ctx, done, "officer2", "", at.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if a.ResolvedBy != "officer1" || a.Note != "checked\n"+tracker.ConfirmedNote("") {
		t.Errorf("confirmed resolved alert = %+v", a)
	}
	if _, err := s.ConfirmAlert(ctx, open, "officer3", "again", at.Add(2*time.Minute)); !errors.Is(err, tracker.ErrTransition) {
		t.Errorf("second confirmation: %v, want ErrTransition", err)
	}
	if _, err := s.ConfirmAlert(ctx, 1<<40, "officer3", "", at); !errors.Is(err, tracker.ErrNotFound) {
		t.Errorf("unknown alert: %v, want ErrNotFound", err)
	}
	cs, err := s.Confirmations(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].AlertID != open || cs[0].Plate != "蒙K·C0001" || cs[0].VehicleID != "cv1" || cs[0].Type != b.Alerts[0].Type ||
		cs[0].By != "officer2" || !cs[0].At.Equal(at) || cs[0].Note != "cargo hidden under coal" || cs[1].AlertID != done {
		t.Errorf("confirmations %+v", cs)
	}
	if cs, err := s.Confirmations(ctx, at.Add(30*time.Second)); err != nil || len(cs) != 1 {
		t.Errorf("confirmations from after the first: %+v, %v", cs, err)
	}
	if got := getAlert(t, s, open); got.Note != tracker.ConfirmedNote("cargo hidden under coal") {
		t.Errorf("refused confirmation changed the note: %q", got.Note)
	}
}
