package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func testDeclarations(t *testing.T, s Store) {
	ctx := t.Context()
	mk := func(id, veh string, from time.Time) tracker.Declaration {
		return tracker.Declaration{ID: id, VehicleID: veh, Direction: tracker.Inbound, PortZoneID: "erenhot-port",
			CorridorZoneID: "corridor-1", YardZoneID: "yard-1", ValidFrom: from, ValidTo: from.Add(6 * time.Hour), CreatedAt: from.Add(-time.Hour)}
	}
	d1, d2, d3 := mk("decl-1", "v1", base), mk("decl-2", "v1", base.Add(24*time.Hour)), mk("decl-3", "v2", base.Add(time.Hour))
	d3.Direction, d3.YardZoneID = tracker.Outbound, ""
	net := 24850.5
	d2.Type, d2.Cargo, d2.Grade, d2.DeclaredNetKg, d2.DriverCard, d2.SealID =
		tracker.DeclarationEmergency, "蒙古国 炼焦煤", "1/3 焦煤", &net, "152101198001011234", "seal-7"
	for _, d := range []tracker.Declaration{d1, d2, d3} {
		if err := s.CreateDeclaration(ctx, d); err != nil {
			t.Fatalf("CreateDeclaration(%s): %v", d.ID, err)
		}
	}
	wantErr(t, "CreateDeclaration of an existing id", s.CreateDeclaration(ctx, d1), tracker.ErrConflict)
	got, err := s.Declaration(ctx, "decl-3")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != d3.ID || got.VehicleID != d3.VehicleID || got.Direction != d3.Direction || got.PortZoneID != d3.PortZoneID ||
		got.CorridorZoneID != d3.CorridorZoneID || got.YardZoneID != "" || !sameTime(d3.ValidFrom, got.ValidFrom) ||
		!sameTime(d3.ValidTo, got.ValidTo) || !sameTime(d3.CreatedAt, got.CreatedAt) ||
		got.Status != tracker.DeclarationActive || got.ClosedAt != nil {
		t.Errorf("Declaration = %+v, want %+v, active", got, d3)
	}
	// The second version's fields come back as given; a declaration without a type is normal,
	// one without a net weight has none.
	if got.Type != tracker.DeclarationNormal || got.Cargo != "" || got.Grade != "" || got.DeclaredNetKg != nil || got.DriverCard != "" || got.SealID != "" {
		t.Errorf("Declaration without the added fields = %+v, want type normal and nothing else", got)
	}
	got, err = s.Declaration(ctx, "decl-2")
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != d2.Type || got.Cargo != d2.Cargo || got.Grade != d2.Grade || got.DeclaredNetKg == nil || *got.DeclaredNetKg != net ||
		got.DriverCard != d2.DriverCard || got.SealID != d2.SealID {
		t.Errorf("Declaration = %+v, want the added fields of %+v (net %v)", got, d2, net)
	}
	_, err = s.Declaration(ctx, "nope")
	wantErr(t, "Declaration of a missing id", err, tracker.ErrNotFound)

	at := base.Add(3 * time.Hour)
	closed, err := s.CloseDeclaration(ctx, "decl-1", tracker.DeclarationCompleted, "arrived at yard-1", at)
	if err != nil {
		t.Fatal(err)
	}
	if closed.Status != tracker.DeclarationCompleted || closed.StatusReason != "arrived at yard-1" || closed.ClosedAt == nil || !sameTime(at, *closed.ClosedAt) {
		t.Errorf("CloseDeclaration returned %+v", closed)
	}
	if _, err := s.CloseDeclaration(ctx, "decl-1", tracker.DeclarationCancelled, "", at); !errors.Is(err, tracker.ErrTransition) {
		t.Errorf("closing a completed declaration: err = %v, want ErrTransition", err)
	}
	if got, _ := s.Declaration(ctx, "decl-1"); got.Status != tracker.DeclarationCompleted {
		t.Errorf("refused close changed the status to %s", got.Status)
	}
	_, err = s.CloseDeclaration(ctx, "nope", tracker.DeclarationExpired, "", at)
	wantErr(t, "CloseDeclaration of a missing id", err, tracker.ErrNotFound)

	tests := []struct {
		name string
		q    tracker.DeclarationQuery
		ids  []string // latest validity first
	}{
		{"all", tracker.DeclarationQuery{}, []string{"decl-2", "decl-3", "decl-1"}},
		{"vehicle", tracker.DeclarationQuery{VehicleID: "v1"}, []string{"decl-2", "decl-1"}},
		{"status", tracker.DeclarationQuery{Status: tracker.DeclarationActive}, []string{"decl-2", "decl-3"}},
		{"limit", tracker.DeclarationQuery{Limit: 1}, []string{"decl-2"}},
		{"closed since", tracker.DeclarationQuery{ClosedFrom: at}, []string{"decl-1"}},
		{"closed before", tracker.DeclarationQuery{ClosedFrom: at.Add(time.Second)}, nil},
		{"nothing", tracker.DeclarationQuery{VehicleID: "v9"}, nil},
	}
	for _, tt := range tests {
		list, err := s.Declarations(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var ids []string
		for _, d := range list {
			ids = append(ids, d.ID)
			if d.ID == "decl-2" && (d.Type != d2.Type || d.DriverCard != d2.DriverCard || d.DeclaredNetKg == nil || d.SealID != d2.SealID) {
				t.Errorf("%s: Declarations lost the added fields: %+v", tt.name, d)
			}
		}
		if !equalStrings(ids, tt.ids) {
			t.Errorf("%s: Declarations = %q, want %q", tt.name, ids, tt.ids)
		}
	}
}
