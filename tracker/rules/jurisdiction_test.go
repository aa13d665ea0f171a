package rules

import (
	"testing"

	"github.com/paulmach/orb"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/geofence/district"
)

func TestJurisdiction(t *testing.T) {
	var j jurisdiction
	if !j.domestic(0, 0) {
		t.Error("without a border everything should be domestic")
	}
	j.set(district.Zones())
	for _, tc := range []struct {
		name     string
		lat, lon float64
		want     bool
	}{
		{"Erenhot city", 43.650, 111.983, true},
		{"Zamyn-Üüd", 43.72, 111.90, false},
		{"Tavan Tolgoi mine", 43.60, 105.50, false},
		{"Ovoot Tolgoi mine", 43.018, 101.217, false},
		{"Ejin Banner", 41.96, 101.07, true},
		{"Baotou", 40.656, 109.835, true},
		{"Urad Middle Banner", 41.57, 108.52, true},
	} {
		if got := j.domestic(tc.lat, tc.lon); got != tc.want {
			t.Errorf("%s: domestic = %v, want %v", tc.name, got, tc.want)
		}
	}
	// A line drawn the other way with domestic_side left says the same.
	line := orb.LineString{{100, 42}, {110, 42}}
	reversed := orb.LineString{{110, 42}, {100, 42}}
	j.set([]geofence.Zone{{ID: "b", Kind: geofence.KindBorder, Geometry: line, DomesticSide: "right"}})
	a := j.domestic(41, 105)
	j.set([]geofence.Zone{{ID: "b", Kind: geofence.KindBorder, Geometry: reversed, DomesticSide: "left"}})
	if b := j.domestic(41, 105); !a || !b {
		t.Errorf("south of a west→east line with domestic right = %v; reversed with left = %v; want true, true", a, b)
	}
}
