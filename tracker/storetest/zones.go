package storetest

import (
	"testing"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/paulmach/orb"
)

func testZonesList() []geofence.Zone {
	return []geofence.Zone{
		{ID: "erenhot-port", Name: "Erenhot port", Kind: geofence.KindPort,
			Geometry:   orb.Polygon{{{111.9612345678901, 43.6512}, {111.99, 43.6512}, {111.99, 43.67}, {111.9612345678901, 43.67}, {111.9612345678901, 43.6512}}},
			Properties: map[string]any{"name_zh": "二连浩特口岸", "lanes": 12.0}},
		{ID: "border", Name: "CN-MN border", Kind: geofence.KindBorder, DomesticSide: "left",
			Geometry: orb.LineString{{111.0, 43.8}, {111.95, 43.7}, {112.5, 43.9}}},
		{ID: "corridor-1", Name: "Port to yard", Kind: geofence.KindCorridor, WidthM: 250.5,
			Geometry: orb.LineString{{111.97, 43.66}, {111.98, 43.60}, {112.0, 43.55}}},
		{ID: "yards", Name: "Yards", Kind: geofence.KindYard,
			Geometry: orb.MultiPolygon{
				{{{112.0, 43.5}, {112.1, 43.5}, {112.1, 43.6}, {112.0, 43.5}}},
				{{{112.2, 43.5}, {112.3, 43.5}, {112.3, 43.6}, {112.2, 43.5}}, {{112.25, 43.52}, {112.26, 43.52}, {112.26, 43.53}, {112.25, 43.52}}},
			}},
	}
}

func checkZone(t *testing.T, want, got geofence.Zone, version int64) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Kind != want.Kind || got.WidthM != want.WidthM || got.DomesticSide != want.DomesticSide {
		t.Errorf("zone %s = %+v, want %+v", want.ID, got, want)
	}
	if got.Geometry == nil || !orb.Equal(got.Geometry, want.Geometry) {
		t.Errorf("zone %s geometry = %v, want %v", want.ID, got.Geometry, want.Geometry)
	}
	if !(len(got.Properties) == 0 && len(want.Properties) == 0) && !sameJSON(t, got.Properties, want.Properties) {
		t.Errorf("zone %s properties = %v, want %v", want.ID, got.Properties, want.Properties)
	}
	if got.Version != version {
		t.Errorf("zone %s version = %d, want %d", want.ID, got.Version, version)
	}
	if got.UpdatedAt.IsZero() {
		t.Errorf("zone %s UpdatedAt not set", want.ID)
	}
}

func testZones(t *testing.T, s Store) {
	ctx := t.Context()
	if got, err := s.Zones(ctx); err != nil || len(got) != 0 {
		t.Fatalf("Zones of an empty store = %d zones, %v", len(got), err)
	}
	zones := testZonesList()
	stored, err := s.PutZones(ctx, zones)
	if err != nil {
		t.Fatalf("PutZones: %v", err)
	}
	if len(stored) != len(zones) {
		t.Fatalf("PutZones returned %d zones, want %d", len(stored), len(zones))
	}
	for i, z := range zones {
		checkZone(t, z, stored[i], 1)
		got, err := s.Zone(ctx, z.ID)
		if err != nil {
			t.Fatalf("Zone(%s): %v", z.ID, err)
		}
		checkZone(t, z, got, 1)
	}

	// Edit one: its version goes up, the others stay.
	edited := zones[0]
	edited.Name = "Erenhot road port"
	edited.Version = 77 // the store keeps its own count
	edited.Geometry = orb.Polygon{{{111.96, 43.65}, {112.0, 43.65}, {112.0, 43.68}, {111.96, 43.68}, {111.96, 43.65}}}
	stored, err = s.PutZones(ctx, []geofence.Zone{edited})
	if err != nil {
		t.Fatal(err)
	}
	checkZone(t, edited, stored[0], 2)
	stored, err = s.PutZones(ctx, []geofence.Zone{edited})
	if err != nil {
		t.Fatal(err)
	}
	checkZone(t, edited, stored[0], 3)

	list, err := s.Zones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []string{"border", "corridor-1", "erenhot-port", "yards"}
	var ids []string
	for _, z := range list {
		ids = append(ids, z.ID)
		if z.ID == "border" {
			checkZone(t, zones[1], z, 1)
		}
		if z.ID == "erenhot-port" {
			checkZone(t, edited, z, 3)
		}
	}
	if !equalStrings(ids, wantIDs) {
		t.Errorf("Zones = %q, want %q", ids, wantIDs)
	}

	if err := s.DeleteZone(ctx, "corridor-1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Zone(ctx, "corridor-1")
	wantErr(t, "Zone after delete", err, tracker.ErrNotFound)
	wantErr(t, "DeleteZone twice", s.DeleteZone(ctx, "corridor-1"), tracker.ErrNotFound)
	if list, _ := s.Zones(ctx); len(list) != 3 {
		t.Errorf("Zones after delete = %d, want 3", len(list))
	}
}

func testZonesAllOrNothing(t *testing.T, s Store) {
	ctx := t.Context()
	zones := testZonesList()
	if _, err := s.PutZones(ctx, zones[:1]); err != nil {
		t.Fatal(err)
	}
	edited := zones[0]
	edited.Name = "changed"
	bad := []geofence.Zone{
		{ID: "", Name: "no id", Kind: geofence.KindYard, Geometry: zones[3].Geometry},
		{ID: "no-geometry", Name: "no geometry", Kind: geofence.KindYard},
	}
	for _, b := range bad {
		if _, err := s.PutZones(ctx, []geofence.Zone{zones[1], edited, b, zones[2]}); err == nil {
			t.Errorf("PutZones with %q succeeded", b.Name)
		}
	}
	list, err := s.Zones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("a failed PutZones left %d zones, want 1", len(list))
	}
	checkZone(t, zones[0], list[0], 1)
}
