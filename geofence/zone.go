// Package geofence knows the control zones, ports, yards, corridors and the border line, and
// turns a vehicle's movement into zone events. It depends on nothing else in BorderWatch.
//
// Zones come as GeoJSON (ParseFeatureCollection, Zone.Validate, ValidateZones). An Engine
// keeps each vehicle's standing with every zone: Update takes a vehicle's fixes in device-time
// order and tests the segment between consecutive fixes, so a border crossing or a small zone
// passed between two sparse fixes is seen, with the crossing time interpolated. Hysteresis
// (Options, DefaultHysteresis) keeps GPS jitter at a fence from flapping.
//
// NewEmbedded is the in-process engine. The hysteresis and per-vehicle state live in States,
// apart from any backend: a backend implements Observer (raw crossings of a move, and how deep
// a point is) and States turns that into the same events for every backend.
// geofence/enginetest is the conformance suite every engine passes.
package geofence

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// Kind is what a zone is for.
type Kind string

// Zone kinds of the external contract.
const (
	KindPort        Kind = "port"
	KindControlZone Kind = "control_zone"
	KindYard        Kind = "yard"
	KindServiceArea Kind = "service_area"
	KindRestricted  Kind = "restricted"
	KindCorridor    Kind = "corridor"
	KindBorder      Kind = "border"
	// KindMine is a mine abroad where trucks load; its property "grade" is the grade of what
	// it yields (e.g. coal A, coal B), compared with the grade a declaration names.
	KindMine Kind = "mine"
)

// Zone is one geofence. Polygons and MultiPolygons for areas; a LineString for the border
// (DomesticSide says which side of its drawing direction is Chinese territory) and for
// corridors (WidthM metres either side of the line).
type Zone struct {
	ID           string
	Name         string
	Kind         Kind
	Geometry     orb.Geometry
	WidthM       float64
	DomesticSide string
	Properties   map[string]any // other feature properties, kept as given
	Version      int64
	UpdatedAt    time.Time
}

// MarshalJSON encodes z as a GeoJSON Feature whose properties carry id, name, kind, width_m,
// domestic_side and version next to the zone's other properties.
func (z Zone) MarshalJSON() ([]byte, error) {
	f := geojson.NewFeature(z.Geometry)
	f.ID = z.ID
	for k, v := range z.Properties {
		f.Properties[k] = v
	}
	f.Properties["id"] = z.ID
	f.Properties["name"] = z.Name
	f.Properties["kind"] = string(z.Kind)
	if z.WidthM > 0 {
		f.Properties["width_m"] = z.WidthM
	}
	if z.Kind == KindBorder {
		f.Properties["domestic_side"] = z.domesticSide()
	}
	f.Properties["version"] = z.Version
	if !z.UpdatedAt.IsZero() {
		f.Properties["updated_at"] = z.UpdatedAt.UTC().Format(time.RFC3339)
	}
	return json.Marshal(f)
}

func (z Zone) domesticSide() string {
	if z.DomesticSide == "" {
		return "right"
	}
	return z.DomesticSide
}

// UnmarshalJSON decodes a GeoJSON Feature. It does not validate; see Validate.
func (z *Zone) UnmarshalJSON(b []byte) error {
	f, err := geojson.UnmarshalFeature(b)
	if err != nil {
		return fmt.Errorf("not a GeoJSON Feature: %w", err)
	}
	props := map[string]any{}
	var out Zone
	for k, v := range f.Properties {
		switch k {
		case "id":
			out.ID = fmt.Sprint(v)
		case "name":
			out.Name, _ = v.(string)
		case "kind":
			s, _ := v.(string)
			out.Kind = Kind(s)
		case "width_m":
			out.WidthM, _ = v.(float64)
		case "domestic_side":
			out.DomesticSide, _ = v.(string)
		case "version":
			n, _ := v.(float64)
			out.Version = int64(n)
		case "updated_at":
			if s, ok := v.(string); ok {
				out.UpdatedAt, _ = time.Parse(time.RFC3339, s)
			}
		default:
			props[k] = v
		}
	}
	if out.ID == "" && f.ID != nil {
		out.ID = fmt.Sprint(f.ID)
	}
	if len(props) > 0 {
		out.Properties = props
	}
	if f.Geometry != nil {
		out.Geometry = f.Geometry
	}
	*z = out
	return nil
}
