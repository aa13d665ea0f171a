package district

import (
	"fmt"
	"math"

	"github.com/borderwatch/borderwatch/geofence"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

const (
	sourceEstimate = "estimate"
	sourceOSM      = "derived from OpenStreetMap data, © OpenStreetMap contributors, ODbL 1.0"
)

// maxSeedDistance bounds how far a port's seed may lie from the border line: farther means the
// spec and the line disagree about where the port is.
const maxSeedDistance = 5000

// build turns the border line and the specs into zones, roads and ports.
func build(border orb.LineString, borderProps geojson.Properties) (*data, error) {
	border = round6(border.Clone())
	d := &data{}
	d.zones = append(d.zones, geofence.Zone{
		ID:           BorderID,
		Name:         "中蒙边境线（呼和浩特关区段）",
		Kind:         geofence.KindBorder,
		Geometry:     border,
		DomesticSide: "right",
		Properties: map[string]any{
			"name_en": "China–Mongolia border (Hohhot Customs district)",
			"source":  sourceOSM,
			"origin":  borderProps.MustString("source", ""),
		},
	})
	for _, ps := range portSpecs {
		if err := d.addPort(border, ps); err != nil {
			return nil, fmt.Errorf("port %s: %w", ps.key, err)
		}
	}
	return d, nil
}

func (d *data) addPort(border orb.LineString, ps portSpec) error {
	pos, dist := nearest(border, ps.seed)
	if dist > maxSeedDistance {
		return fmt.Errorf("seed is %.0f m from the border line", dist)
	}
	crossing := round6(pos.point(border))

	// The border's local direction at the crossing, and the normal into China (to its right).
	pl := planeAt(crossing)
	ax, ay := pl.xy(walk(border, pos, -1000).point(border))
	bx, by := pl.xy(walk(border, pos, 1000).point(border))
	l := math.Hypot(bx-ax, by-ay)
	tx, ty := (bx-ax)/l, (by-ay)/l
	nx, ny := ty, -tx
	at := func(along, normal float64) orb.Point {
		return pl.point(along*tx+normal*nx, along*ty+normal*ny)
	}
	inner := round6(at(0, portInner))
	outer := round6(at(0, -portInner))

	id := "port-" + ps.key
	port := Port{
		ID:            id,
		Name:          ps.name + "口岸",
		NameEN:        ps.nameEN + " port",
		Crossing:      crossing,
		ControlZoneID: "control-" + ps.key,
		Hours:         ps.hours,
		TownLoop:      "loop-" + ps.key,
	}
	d.zones = append(d.zones, geofence.Zone{
		ID:   id,
		Name: port.Name,
		Kind: geofence.KindPort,
		Geometry: polygon(orb.Ring{
			at(-portAlong, -portIntoMongolia), at(portAlong, -portIntoMongolia),
			at(portAlong, portIntoChina), at(-portAlong, portIntoChina),
		}),
		Properties: map[string]any{
			"name_en":      port.NameEN,
			"stop_allowed": true,
			"hours":        ps.hours.String(),
			"source":       sourceEstimate,
		},
	})
	ctrl, err := controlZone(border, pos, controlRadius)
	if err != nil {
		return err
	}
	d.zones = append(d.zones, geofence.Zone{
		ID:       port.ControlZoneID,
		Name:     port.Name + "监管区",
		Kind:     geofence.KindControlZone,
		Geometry: ctrl,
		Properties: map[string]any{
			"name_en": port.NameEN + " control zone",
			"port_id": id,
			"source":  sourceOSM,
		},
	})

	var services []geofence.Zone
	for i, ys := range ps.yards {
		n := i + 1
		yardID := fmt.Sprintf("yard-%s-%d", ps.key, n)
		corrID := fmt.Sprintf("corridor-%s-yard%d", ps.key, n)
		roadID := fmt.Sprintf("road-%s-yard%d", ps.key, n)
		d.zones = append(d.zones, geofence.Zone{
			ID:       yardID,
			Name:     ys.name,
			Kind:     geofence.KindYard,
			Geometry: rect(ys.centre, ys.w, ys.h),
			Properties: map[string]any{
				"name_en":      ys.nameEN,
				"stop_allowed": true,
				"port_id":      id,
				"source":       sourceEstimate,
			},
		})
		centre := append(orb.LineString{inner}, ys.via...)
		centre = round6(append(centre, ys.centre))
		name, nameEN := port.Name+"至"+ys.name+"通道", port.NameEN+" – "+ys.nameEN+" corridor"
		d.zones = append(d.zones, geofence.Zone{
			ID:       corrID,
			Name:     name,
			Kind:     geofence.KindCorridor,
			Geometry: centre,
			WidthM:   corridorWidth,
			Properties: map[string]any{
				"name_en": nameEN,
				"port_id": id,
				"yard_id": yardID,
				"road":    ys.road,
				"source":  sourceEstimate,
			},
		})
		services = append(services, serviceAreas(centre, corrID, name, nameEN, id)...)
		d.roads = append(d.roads, Road{
			ID:   roadID,
			Name: ps.nameEN + " → " + ys.nameEN,
			Line: append(orb.LineString{crossing}, centre...),
		})
		port.Routes = append(port.Routes, Route{CorridorID: corrID, YardID: yardID, RoadID: roadID})
	}
	d.zones = append(d.zones, services...)

	for _, m := range ps.mines {
		d.zones = append(d.zones, geofence.Zone{
			ID:       "mine-" + m.key,
			Name:     m.name,
			Kind:     geofence.KindMine,
			Geometry: rect(m.centre, m.w, m.h),
			Properties: map[string]any{
				"name_en":      m.nameEN,
				"cargo":        m.cargo,
				"grade":        m.grade,
				"grade_name":   m.gradeName,
				"stop_allowed": true, // where trucks load; and abroad
				"port_id":      id,
				"source":       sourceEstimate,
			},
		})
	}
	for _, f := range ps.feeders {
		line := append(orb.LineString{}, f.line...)
		line = round6(append(line, ps.mnTown.at, crossing))
		d.roads = append(d.roads, Road{ID: f.id, Name: f.name, Line: line})
		port.Feeders = append(port.Feeders, f.id)
	}

	// A border resident drives from the Mongolian town through the port into the Chinese port
	// town, around it, and back the same way.
	t := ps.cnTown.at
	h := float64(townLoopSize)
	loop := orb.LineString{ps.mnTown.at, outer, crossing, inner, t,
		offset(t, h, 0), offset(t, h, -h), offset(t, 0, -h), t,
		inner, crossing, outer, ps.mnTown.at}
	d.roads = append(d.roads, Road{
		ID:   port.TownLoop,
		Name: ps.mnTown.name + " → " + ps.cnTown.name + " → " + ps.mnTown.name,
		Line: round6(loop),
	})
	// Residents park and shop in the port town: stopping there is allowed, or every visit would
	// be an unauthorized stop and every car park a meeting.
	d.zones = append(d.zones, geofence.Zone{
		ID:       "service-town-" + ps.key,
		Name:     ps.name + "口岸城区",
		Kind:     geofence.KindServiceArea,
		Geometry: rect(offset(t, h/2, -h/2), h+townMargin, h+townMargin),
		Properties: map[string]any{
			"name_en":      ps.cnTown.name,
			"stop_allowed": true,
			"town":         true,
			"port_id":      id,
			"source":       sourceEstimate,
		},
	})
	d.ports = append(d.ports, port)
	return nil
}

// controlZone is the area on the Chinese side within r metres of the crossing at pos: the
// border line between the points where it leaves the circle, closed by the circle's arc on the
// side to the line's right.
func controlZone(border orb.LineString, pos linePos, r float64) (orb.Polygon, error) {
	c := pos.point(border)
	wLast, w := circleExit(border, pos, -1, r)
	eLast, e := circleExit(border, pos, 1, r)
	if distance(c, w) < r*0.999 || distance(c, e) < r*0.999 {
		return nil, fmt.Errorf("border line ends within %.0f m of the crossing", r)
	}
	ring := orb.Ring{w}
	ring = append(ring, border[wLast:eLast+1]...)
	ring = append(ring, e)

	// Sweep clockwise (to the right of the line's direction) from e round to w.
	pl := planeAt(c)
	ex, ey := pl.xy(e)
	wx, wy := pl.xy(w)
	be, bw := bearingXY(ex, ey), bearingXY(wx, wy)
	sweep := math.Mod(bw-be+2*math.Pi, 2*math.Pi)
	const step = 5 * math.Pi / 180
	n := int(math.Ceil(sweep / step))
	for k := 1; k < n; k++ {
		b := be + sweep*float64(k)/float64(n)
		ring = append(ring, pl.point(r*math.Sin(b), r*math.Cos(b)))
	}
	return polygon(ring), nil
}

// serviceAreas places about one service area per serviceSpacing metres of the corridor, evenly.
func serviceAreas(centre orb.LineString, corrID, name, nameEN, portID string) []geofence.Zone {
	length := lineLength(centre)
	n := int(math.Round(length / serviceSpacing))
	var out []geofence.Zone
	for i := 1; i <= n; i++ {
		p := walk(centre, linePos{}, length*float64(i)/float64(n+1)).point(centre)
		out = append(out, geofence.Zone{
			ID:       fmt.Sprintf("service-%s-%d", corrID[len("corridor-"):], i),
			Name:     fmt.Sprintf("%s%d号服务区", name, i),
			Kind:     geofence.KindServiceArea,
			Geometry: rect(p, serviceSize, serviceSize),
			Properties: map[string]any{
				"name_en":      fmt.Sprintf("%s, service area %d", nameEN, i),
				"stop_allowed": true,
				"port_id":      portID,
				"corridor_id":  corrID,
				"source":       sourceEstimate,
			},
		})
	}
	return out
}

// rect is the w × h metre rectangle, east–west by north–south, centred on c.
func rect(c orb.Point, w, h float64) orb.Polygon {
	return polygon(orb.Ring{
		offset(c, -w/2, -h/2), offset(c, w/2, -h/2), offset(c, w/2, h/2), offset(c, -w/2, h/2),
	})
}

func polygon(r orb.Ring) orb.Polygon {
	return round6(orb.Polygon{ringCCW(r)})
}
