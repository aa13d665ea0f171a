package geofence_test

import (
	"testing"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/geofence/enginetest"
)

func TestEmbeddedConformance(t *testing.T) {
	enginetest.Run(t, func(t *testing.T) geofence.Engine {
		e := geofence.NewEmbedded(geofence.Options{})
		t.Cleanup(func() { e.Close() })
		return e
	})
}

func BenchmarkUpdate(b *testing.B) {
	enginetest.Benchmark(b, geofence.NewEmbedded(geofence.Options{}))
}
