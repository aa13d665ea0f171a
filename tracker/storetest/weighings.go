package storetest

import (
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func testWeighings(t *testing.T, s Store) {
	ctx := t.Context()
	mk := func(scale, veh, decl string, at time.Time, gross float64) tracker.Weighing {
		return tracker.Weighing{ID: 99, ScaleID: scale, ZoneID: "yard-1", Time: at, Plate: "蒙K·12345", CardID: "card-" + veh,
			GrossKg: gross, TareKg: 15000.5, NetKg: gross - 15000.5, Operator: "张三", VehicleID: veh, DeclarationID: decl, ReceivedAt: at.Add(time.Second)}
	}
	ws := []tracker.Weighing{
		mk("scale-port", "v1", "decl-1", base.Add(2*time.Hour), 40000.25),
		mk("scale-yard", "v1", "decl-1", base.Add(3*time.Hour), 40100),
		mk("scale-yard", "v2", "", base.Add(time.Hour), 30000),
	}
	ids := map[int64]bool{}
	for _, w := range ws {
		id, err := s.AddWeighing(ctx, w)
		if err != nil {
			t.Fatalf("AddWeighing: %v", err)
		}
		if id <= 0 || ids[id] || id == 99 {
			t.Errorf("AddWeighing returned id %d, want a new positive one (given 99, had %v)", id, ids)
		}
		ids[id] = true
	}
	all, err := s.Weighings(ctx, tracker.WeighingQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].VehicleID != "v2" || all[1].ScaleID != "scale-port" || all[2].ScaleID != "scale-yard" {
		t.Fatalf("Weighings = %+v, want the three oldest first", all)
	}
	got, want := all[1], ws[0]
	if got.ZoneID != want.ZoneID || !sameTime(got.Time, want.Time) || got.Plate != want.Plate || got.CardID != want.CardID ||
		got.GrossKg != want.GrossKg || got.TareKg != want.TareKg || got.NetKg != want.NetKg || got.Operator != want.Operator ||
		got.VehicleID != want.VehicleID || got.DeclarationID != want.DeclarationID || !sameTime(got.ReceivedAt, want.ReceivedAt) || !ids[got.ID] {
		t.Errorf("Weighing = %+v, want %+v", got, want)
	}
	tests := []struct {
		name string
		q    tracker.WeighingQuery
		n    int
	}{
		{"vehicle", tracker.WeighingQuery{VehicleID: "v1"}, 2},
		{"declaration", tracker.WeighingQuery{DeclarationID: "decl-1"}, 2},
		{"scale", tracker.WeighingQuery{ScaleID: "scale-yard"}, 2},
		{"period", tracker.WeighingQuery{From: base.Add(time.Hour), To: base.Add(3 * time.Hour)}, 2},
		{"limit", tracker.WeighingQuery{Limit: 1}, 1},
		{"nothing", tracker.WeighingQuery{VehicleID: "v9"}, 0},
	}
	for _, tt := range tests {
		got, err := s.Weighings(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(got) != tt.n {
			t.Errorf("%s: %d weighings, want %d", tt.name, len(got), tt.n)
		}
	}
}
