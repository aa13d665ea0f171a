package geofence_test

import (
	"testing"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/geofence/enginetest"
)

func TestEmbeddedConformance(t *testing.T) {
	enginetest.Run(t, func(t *testing.T) geofence.Engine {
		e := geofence.NewEmbedded(geofence.Options{})
		t.Cleanup(func() { e.Close() })
		return e
	})
}

// BenchmarkUpdate runs on the district-like layout (a 4,000-vertex border, an 8,000-vertex
// control zone along it, ports, corridors, yards) and 1,000 synthetic polygons.
func BenchmarkUpdate(b *testing.B) {
	enginetest.Benchmark(b, geofence.NewEmbedded(geofence.Options{}), enginetest.BenchZones(1000, 1))
}

// BenchmarkUpdateDistrict runs on the default district's zones and 1,000 synthetic polygons.
func BenchmarkUpdateDistrict(b *testing.B) {
	zones := append(district.Zones(), enginetest.SyntheticZones(1000, 1)...)
	enginetest.Benchmark(b, geofence.NewEmbedded(geofence.Options{}), zones)
}
