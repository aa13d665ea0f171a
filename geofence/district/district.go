// Package district is the default dataset of BorderWatch: the Hohhot Customs district on the
// China–Mongolia border. It provides the zones loaded on first start (the border line, the five
// road ports with their control zones, yards, corridors and service areas) and the roads the
// simulator drives.
//
// The border line is derived from OpenStreetMap data (© OpenStreetMap contributors, ODbL; see
// data/NOTICE.md) and embedded; everything else is built from estimates in spec.go. Nothing is
// downloaded at build or run time.
package district

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// BorderID is the ID of the border zone.
const BorderID = "cn-mn-border"

//go:embed data/border.geojson
var borderGeoJSON []byte

// Road is a road the simulator can drive, drawn in driving order.
type Road struct {
	ID   string
	Name string
	Line orb.LineString
}

// Route is a cleared way from a port to a yard on the Chinese side: what a declaration names.
type Route struct {
	CorridorID string
	YardID     string
	RoadID     string // the road along the corridor's centre line, starting at the crossing
}

// Port is one road port of the district.
type Port struct {
	ID            string // the port zone's ID
	Name          string // Chinese
	NameEN        string
	Crossing      orb.Point // where the road crosses the border line
	ControlZoneID string
	Hours         Hours
	Routes        []Route
	Feeders       []string // IDs of the Mongolian roads that end at the crossing
	TownLoop      string   // ID of the road of border residents' cars: Mongolian town, port town and back
}

// cst is China Standard Time. A fixed zone, so the package needs no time zone database.
var cst = time.FixedZone("CST", 8*60*60)

// Hours are a port's opening hours, China Standard Time.
type Hours struct {
	Open, Close time.Duration // since midnight
	Months      []time.Month  // the months the port opens; empty: all year
}

// IsOpen reports whether the port is open at t.
func (h Hours) IsOpen(t time.Time) bool {
	t = t.In(cst)
	if len(h.Months) > 0 && !slices.Contains(h.Months, t.Month()) {
		return false
	}
	since := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second
	return since >= h.Open && since < h.Close
}

// String formats h as "09:00-17:30", with the months when seasonal.
func (h Hours) String() string {
	s := fmt.Sprintf("%02d:%02d-%02d:%02d", int(h.Open.Hours()), int(h.Open.Minutes())%60,
		int(h.Close.Hours()), int(h.Close.Minutes())%60)
	if len(h.Months) > 0 {
		s += fmt.Sprintf(", %s to %s", h.Months[0], h.Months[len(h.Months)-1])
	}
	return s
}

var dataset = sync.OnceValue(func() *data {
	d, err := load(borderGeoJSON)
	if err != nil {
		// The inputs are compiled in and checked by the tests: a failure here is a bug.
		panic("district: " + err.Error())
	}
	return d
})

// Zones returns the district's zones: the border line first, then each port with its control
// zone, yards, corridors and service areas. The zones are fresh copies the caller may modify.
func Zones() []geofence.Zone {
	src := dataset().zones
	out := make([]geofence.Zone, len(src))
	for i, z := range src {
		z.Geometry = orb.Clone(z.Geometry)
		z.Properties = cloneProps(z.Properties)
		out[i] = z
	}
	return out
}

// Roads returns the roads the simulator drives: Mongolian roads from the mines and port towns
// to the crossings, Chinese roads from the crossings along the corridors to the yards, and the
// border residents' loops. Fresh copies.
func Roads() []Road {
	src := dataset().roads
	out := make([]Road, len(src))
	for i, r := range src {
		out[i] = Road{ID: r.ID, Name: r.Name, Line: r.Line.Clone()}
	}
	return out
}

// Ports returns the district's five road ports, west to east. Fresh copies.
func Ports() []Port {
	src := dataset().ports
	out := make([]Port, len(src))
	for i, p := range src {
		p.Hours.Months = slices.Clone(p.Hours.Months)
		p.Routes = slices.Clone(p.Routes)
		p.Feeders = slices.Clone(p.Feeders)
		out[i] = p
	}
	return out
}

// Border returns the border line, drawn west to east with China on its right.
func Border() orb.LineString {
	return dataset().zones[0].Geometry.(orb.LineString).Clone()
}

// FeatureCollection returns the zones as a GeoJSON FeatureCollection, one Feature per line:
// what an export of a fresh installation yields, and what an import takes.
func FeatureCollection() []byte {
	return bytes.Clone(dataset().geojson)
}

func cloneProps(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

type data struct {
	zones   []geofence.Zone
	roads   []Road
	ports   []Port
	geojson []byte
}

func load(border []byte) (*data, error) {
	f, err := geojson.UnmarshalFeature(border)
	if err != nil {
		return nil, fmt.Errorf("border: %w", err)
	}
	line, ok := f.Geometry.(orb.LineString)
	if !ok || len(line) < 2 {
		return nil, fmt.Errorf("border: want a LineString, got %T", f.Geometry)
	}
	d, err := build(line, f.Properties)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(`{"type":"FeatureCollection","features":[` + "\n")
	for i, z := range d.zones {
		b, err := json.Marshal(z)
		if err != nil {
			return nil, fmt.Errorf("zone %s: %w", z.ID, err)
		}
		buf.Write(b)
		if i < len(d.zones)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	d.geojson = buf.Bytes()
	return d, nil
}
