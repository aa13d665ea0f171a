package geofence_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/paulmach/orb"
)

func TestParseFeatureCollectionReportsEveryProblem(t *testing.T) {
	b, err := os.ReadFile("testdata/bad.geojson")
	if err != nil {
		t.Fatal(err)
	}
	zones, err := geofence.ParseFeatureCollection(b)
	if zones != nil {
		t.Errorf("zones returned despite problems: %d", len(zones))
	}
	var verr *geofence.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err %v, want a *ValidationError", err)
	}
	want := []struct {
		index   int
		id, msg string
	}{
		{1, "unclosed", "not closed"},
		{2, "bow-tie", "intersect"},
		{3, "swapped", "look swapped"},
		{4, "weird", `unknown kind "parking"`},
		{5, "no-width", "width_m > 0"},
		{6, "area-corridor", "needs a LineString"},
		{7, "border-poly", "needs a LineString or MultiLineString"},
		{7, "border-poly", `domestic_side must be right or left, got "south"`},
		{8, "", "empty id"},
		{9, "ok-port", "duplicate id (feature 0 has it too)"},
		{10, "yard-line", "needs a Polygon or MultiPolygon"},
		{11, "hole-crosses", "intersect"},
		{12, "spike", "intersect"},
		{13, "no-geometry", "no geometry"},
	}
	for _, w := range want {
		found := false
		for _, p := range verr.Problems {
			found = found || p.Index == w.index && p.ID == w.id && strings.Contains(p.Message, w.msg)
		}
		if !found {
			t.Errorf("no problem %q reported for feature %d (%q)", w.msg, w.index, w.id)
		}
	}
	for _, p := range verr.Problems {
		if p.Index == 0 {
			t.Errorf("problem reported for the valid feature 0: %v", p)
		}
	}
	if len(verr.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(verr.Problems), len(want), err)
	}
	if !strings.Contains(err.Error(), `feature 2 (id "bow-tie")`) {
		t.Errorf("error text does not name the feature: %v", err)
	}
}

func TestParseFeatureCollectionRoundTrip(t *testing.T) {
	zones := []geofence.Zone{
		{ID: "p", Name: "Port", Kind: geofence.KindPort, Version: 3,
			Geometry:   orb.Polygon{{{111.9, 43.6}, {112, 43.6}, {112, 43.7}, {111.9, 43.6}}},
			Properties: map[string]any{"operator": "customs"}},
		{ID: "b", Kind: geofence.KindBorder, DomesticSide: "left",
			Geometry: orb.MultiLineString{{{111, 44}, {112, 44.1}}, {{112, 44.1}, {113, 44}}}},
		{ID: "c", Kind: geofence.KindCorridor, WidthM: 150, Geometry: orb.LineString{{111.9, 43.5}, {112, 43.4}}},
	}
	fc := map[string]any{"type": "FeatureCollection", "features": zones}
	b, err := json.Marshal(fc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := geofence.ParseFeatureCollection(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(zones) {
		t.Fatalf("%d zones, want %d", len(got), len(zones))
	}
	for i := range zones {
		g, w := got[i], zones[i]
		if g.ID != w.ID || g.Kind != w.Kind || g.WidthM != w.WidthM || g.Version != w.Version || g.Name != w.Name ||
			!orb.Equal(g.Geometry, w.Geometry) {
			t.Errorf("zone %d: got %+v, want %+v", i, g, w)
		}
	}
	if got[1].DomesticSide != "left" || got[0].Properties["operator"] != "customs" {
		t.Errorf("properties lost: %+v", got)
	}
}

func TestValidate(t *testing.T) {
	square := orb.Polygon{{{111.9, 43.6}, {112, 43.6}, {112, 43.7}, {111.9, 43.7}, {111.9, 43.6}}}
	huge := make(orb.Ring, 0, geofence.MaxVertices+2)
	for i := range geofence.MaxVertices + 1 {
		huge = append(huge, orb.Point{100 + float64(i)*1e-4, 43})
	}
	huge = append(huge, orb.Point{100, 44}, huge[0])
	for _, c := range []struct {
		name string
		z    geofence.Zone
		want string // "" for valid
	}{
		{"square", geofence.Zone{ID: "a", Kind: geofence.KindYard, Geometry: square}, ""},
		{"multipolygon", geofence.Zone{ID: "a", Kind: geofence.KindRestricted, Geometry: orb.MultiPolygon{square}}, ""},
		{"border default side", geofence.Zone{ID: "a", Kind: geofence.KindBorder, Geometry: orb.LineString{{111, 44}, {112, 44}}}, ""},
		{"corridor", geofence.Zone{ID: "a", Kind: geofence.KindCorridor, WidthM: 1, Geometry: orb.LineString{{111, 44}, {112, 44}}}, ""},
		{"corridor negative width", geofence.Zone{ID: "a", Kind: geofence.KindCorridor, WidthM: -5, Geometry: orb.LineString{{111, 44}, {112, 44}}}, "width_m > 0"},
		{"one-point line", geofence.Zone{ID: "a", Kind: geofence.KindBorder, Geometry: orb.LineString{{111, 44}}}, "at least 2"},
		{"zero-length line", geofence.Zone{ID: "a", Kind: geofence.KindBorder, Geometry: orb.LineString{{111, 44}, {111, 44}}}, "no length"},
		{"latitude out of range", geofence.Zone{ID: "a", Kind: geofence.KindBorder, Geometry: orb.LineString{{111, 95}, {111, 44}}}, "out of range"},
		{"point", geofence.Zone{ID: "a", Kind: geofence.KindYard, Geometry: orb.Point{111, 44}}, "Polygon or MultiPolygon"},
		{"huge", geofence.Zone{ID: "a", Kind: geofence.KindControlZone, Geometry: orb.Polygon{huge}}, "more than the 100000 allowed"},
		{"mine", geofence.Zone{ID: "a", Kind: geofence.KindMine, Geometry: square, Properties: map[string]any{"grade": "A"}}, ""},
		{"mine without grade", geofence.Zone{ID: "a", Kind: geofence.KindMine, Geometry: square}, "grade property"},
		{"mine with a numeric grade", geofence.Zone{ID: "a", Kind: geofence.KindMine, Geometry: square, Properties: map[string]any{"grade": 1.0}}, "grade property"},
		{"mine line", geofence.Zone{ID: "a", Kind: geofence.KindMine, Geometry: orb.LineString{{111, 44}, {112, 44}}, Properties: map[string]any{"grade": "A"}}, "Polygon or MultiPolygon"},
		{"blank id", geofence.Zone{ID: " ", Kind: geofence.KindYard, Geometry: square}, "empty id"},
		{"polygons overlap", geofence.Zone{ID: "a", Kind: geofence.KindYard, Geometry: orb.MultiPolygon{square, {{{111.95, 43.65}, {112.1, 43.65}, {112.1, 43.8}, {111.95, 43.65}}}}}, "intersect"},
	} {
		err := c.z.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}
