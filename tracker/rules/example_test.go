package rules_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/borderwatch/borderwatch/geofence/district"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/rules"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

// Wiring the rules into the pipeline, as the server does, and a truck crossing the border in
// the desert between two ports.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "rules-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "bw.db"), sqlitestore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	zones, err := st.PutZones(ctx, district.Zones())
	if err != nil {
		log.Fatal(err)
	}
	engine := geofence.NewEmbedded(geofence.Options{})
	if err := engine.SetZones(ctx, zones); err != nil {
		log.Fatal(err)
	}

	r := rules.New(rules.Config{Engine: engine, Store: st})
	if err := r.Load(ctx); err != nil {
		log.Fatal(err)
	}
	p := tracker.NewPipeline(tracker.PipelineConfig{Store: st, Evaluator: r})
	defer p.Close()
	go p.RunChecks(ctx, r, 30*time.Second) // the timers: signal loss, expiry, meetings

	// Halfway along the border line, far from every port: 2 km out, 2 km in (China lies to
	// the right of the line's drawing direction).
	line := district.Border()
	a, b := line[len(line)/2], line[len(line)/2+1]
	dx, dy := b[0]-a[0], b[1]-a[1]
	n := 0.02 / max(abs(dx), abs(dy)) // about 2 km
	t := time.Now().Add(-time.Hour).UTC()
	var fixes []tracker.Fix
	for i, side := range []float64{-1, -0.5, 0.5, 1} { // left (Mongolia) to right (China)
		fixes = append(fixes, tracker.Fix{VehicleID: "truck-1", DeviceID: "13912344329", Valid: true,
			Time: t.Add(time.Duration(i) * time.Minute),
			Lat:  a[1] + side*n*(-dx), Lon: a[0] + side*n*dy})
	}
	if err := p.Submit(ctx, fixes); err != nil {
		log.Fatal(err)
	}
	alerts, err := st.Alerts(ctx, tracker.AlertQuery{VehicleID: "truck-1"})
	if err != nil {
		log.Fatal(err)
	}
	for _, al := range alerts {
		fmt.Println(al.Type, al.Severity, al.Message)
	}
	// Output:
	// border_crossing_outside_port critical border crossed outside every port (inbound)
}

func abs(x float64) float64 { return max(x, -x) }
