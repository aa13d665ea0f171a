package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func testTargets(t *testing.T, s Store) {
	ctx := t.Context()
	o1 := tracker.TargetOrder{ID: "t-1", VehicleID: "v1", Plate: "蒙K12345", Reason: tracker.TargetReasonAlert, AlertID: 7, Source: tracker.AlertCrossingMismatch,
		Action: tracker.TargetInspectNextCrossing, Level: tracker.TargetLevelDistrict, IssuedBy: "zhang", CreatedAt: base, ValidUntil: base.Add(72 * time.Hour),
		Status: tracker.TargetActive}
	o2 := o1
	o2.ID, o2.VehicleID, o2.Plate, o2.Reason, o2.AlertID, o2.Source, o2.PortID, o2.CreatedAt = "t-2", "", "蒙A00001", tracker.TargetReasonIntelligence, 0,
		tracker.TargetReasonIntelligence, "erenhot-port", base.Add(time.Hour)
	for _, o := range []tracker.TargetOrder{o1, o2} {
		if err := s.CreateTarget(ctx, o); err != nil {
			t.Fatalf("CreateTarget(%s): %v", o.ID, err)
		}
	}
	wantErr(t, "CreateTarget of an existing id", s.CreateTarget(ctx, o1), tracker.ErrConflict)
	got, err := s.Target(ctx, "t-1")
	if err != nil {
		t.Fatal(err)
	}
	o1.Version = 1
	if !sameJSON(t, got, o1) || !sameTime(o1.CreatedAt, got.CreatedAt) {
		t.Errorf("Target = %+v, want %+v at version 1", got, o1)
	}
	_, err = s.Target(ctx, "t-missing")
	wantErr(t, "Target of a missing id", err, tracker.ErrNotFound)

	// An update names the version it read: the second writer of one version is stale.
	fired := got
	at := base.Add(2 * time.Hour)
	fired.Status, fired.FiredAt, fired.FiredVia, fired.PortID = tracker.TargetFired, &at, "gate_read", "erenhot-port"
	stored, err := s.UpdateTarget(ctx, fired)
	if err != nil || stored.Version != 2 {
		t.Fatalf("UpdateTarget = version %d, %v; want 2", stored.Version, err)
	}
	cancelled := got
	cancelled.Status = tracker.TargetCancelled
	_, err = s.UpdateTarget(ctx, cancelled)
	wantErr(t, "UpdateTarget of a version read before another update", err, tracker.ErrStale)
	missing := got
	missing.ID = "t-missing"
	_, err = s.UpdateTarget(ctx, missing)
	wantErr(t, "UpdateTarget of a missing id", err, tracker.ErrNotFound)
	if got, _ = s.Target(ctx, "t-1"); got.Status != tracker.TargetFired || got.Version != 2 || got.FiredAt == nil || !sameTime(at, *got.FiredAt) {
		t.Errorf("after update: %+v, want fired at %v, version 2", got, at)
	}

	for _, c := range []struct {
		name string
		q    tracker.TargetQuery
		want []string
	}{
		{"all, newest first", tracker.TargetQuery{}, []string{"t-2", "t-1"}},
		{"status", tracker.TargetQuery{Status: tracker.TargetFired}, []string{"t-1"}},
		{"vehicle", tracker.TargetQuery{VehicleID: "v1"}, []string{"t-1"}},
		{"plate", tracker.TargetQuery{Plate: "蒙A00001"}, []string{"t-2"}},
		{"port", tracker.TargetQuery{PortID: "erenhot-port"}, []string{"t-2", "t-1"}},
		{"period", tracker.TargetQuery{From: base.Add(time.Minute), To: base.Add(2 * time.Hour)}, []string{"t-2"}},
		{"limit", tracker.TargetQuery{Limit: 1}, []string{"t-2"}},
	} {
		os, err := s.Targets(ctx, c.q)
		if err != nil {
			t.Fatalf("Targets(%s): %v", c.name, err)
		}
		var ids []string
		for _, o := range os {
			ids = append(ids, o.ID)
		}
		if !sameJSON(t, ids, c.want) {
			t.Errorf("Targets(%s) = %v, want %v", c.name, ids, c.want)
		}
	}
}

func testAssignments(t *testing.T, s Store) {
	ctx := t.Context()
	a1 := tracker.Assignment{ID: "a-1", OrderID: "t-1", PortID: "erenhot-port", Team: "erenhot-port", Status: tracker.AssignmentAssigned, AssignedBy: "zhang", AssignedAt: base}
	a2 := tracker.Assignment{ID: "a-2", OrderID: "t-2", PortID: "erenhot-port", User: "li", Status: tracker.AssignmentAssigned, AssignedBy: "zhang", AssignedAt: base.Add(time.Minute)}
	for _, a := range []tracker.Assignment{a1, a2} {
		if err := s.CreateAssignment(ctx, a); err != nil {
			t.Fatalf("CreateAssignment(%s): %v", a.ID, err)
		}
	}
	wantErr(t, "CreateAssignment of an existing id", s.CreateAssignment(ctx, a1), tracker.ErrConflict)
	got, err := s.Assignment(ctx, "a-1")
	a1.Version = 1
	if err != nil || !sameJSON(t, got, a1) {
		t.Fatalf("Assignment = %+v, %v; want %+v", got, err, a1)
	}
	at := base.Add(3 * time.Minute)
	accepted := got
	accepted.Status, accepted.AcceptedBy, accepted.AcceptedAt = tracker.AssignmentAccepted, "li", &at
	if stored, err := s.UpdateAssignment(ctx, accepted); err != nil || stored.Version != 2 {
		t.Fatalf("UpdateAssignment = version %d, %v; want 2", stored.Version, err)
	}
	_, err = s.UpdateAssignment(ctx, got)
	wantErr(t, "UpdateAssignment of a stale version", err, tracker.ErrStale)
	_, err = s.Assignment(ctx, "a-missing")
	wantErr(t, "Assignment of a missing id", err, tracker.ErrNotFound)
	for _, c := range []struct {
		q    tracker.AssignmentQuery
		want []string
	}{
		{tracker.AssignmentQuery{}, []string{"a-2", "a-1"}},
		{tracker.AssignmentQuery{OrderID: "t-1"}, []string{"a-1"}},
		{tracker.AssignmentQuery{Status: tracker.AssignmentAssigned}, []string{"a-2"}},
	} {
		as, err := s.Assignments(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range as {
			ids = append(ids, a.ID)
		}
		if !sameJSON(t, ids, c.want) {
			t.Errorf("Assignments(%+v) = %v, want %v", c.q, ids, c.want)
		}
	}
}

func testPhotos(t *testing.T, s Store) {
	ctx := t.Context()
	data := []byte("\xff\xd8\xff\xe0 not really a JPEG \x00\x01\x02")
	p := tracker.Photo{OrderID: "t-1", SHA256: "ab12", ContentType: "image/jpeg", By: "li", At: base, Data: data}
	for range 2 { // the same photo twice is stored once
		if err := s.PutPhoto(ctx, p); err != nil {
			t.Fatalf("PutPhoto: %v", err)
		}
	}
	got, err := s.Photo(ctx, "t-1", "ab12")
	if err != nil || got.ContentType != p.ContentType || got.Size != len(data) || got.By != "li" || !sameTime(base, got.At) || !bytes.Equal(got.Data, data) {
		t.Fatalf("Photo = %+v, %v; want %+v", got, err, p)
	}
	// A photo is the order's: another order's name for the same hash finds nothing.
	_, err = s.Photo(ctx, "t-2", "ab12")
	wantErr(t, "Photo of another order", err, tracker.ErrNotFound)

	// Photos lists an order's photos without their bytes, oldest first.
	later := tracker.Photo{OrderID: "t-1", SHA256: "cd34", ContentType: "image/png", By: "wang", At: base.Add(time.Minute), Data: []byte("\x89PNG")}
	if err := s.PutPhoto(ctx, later); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPhoto(ctx, tracker.Photo{OrderID: "t-3", SHA256: "ef56", ContentType: "image/png", By: "wang", At: base, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	ps, err := s.Photos(ctx, "t-1")
	if err != nil || len(ps) != 2 || ps[0].SHA256 != "ab12" || ps[1].SHA256 != "cd34" || ps[1].Size != 4 || ps[1].By != "wang" ||
		ps[1].ContentType != "image/png" || !sameTime(base.Add(time.Minute), ps[1].At) || ps[0].Data != nil || ps[1].Data != nil {
		t.Errorf("Photos(t-1) = %+v, %v; want ab12 and cd34 without their bytes", ps, err)
	}
	if ps, err := s.Photos(ctx, "t-none"); err != nil || len(ps) != 0 {
		t.Errorf("Photos of an order without any = %+v, %v", ps, err)
	}
}
