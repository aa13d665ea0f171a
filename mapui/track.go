package mapui

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// maxTrackPeriod bounds one track request; 31 days of fixes every 10 s is ~270,000 fixes.
const maxTrackPeriod = 31 * 24 * time.Hour

func (s *Server) positions(c *gin.Context) {
	area, ok := s.scope(c)
	if !ok {
		return
	}
	fs, err := s.cfg.Store.LatestFixes(c.Request.Context())
	if err != nil {
		s.storeFail(c, err)
		return
	}
	if area != nil {
		fs = slices.DeleteFunc(fs, func(f tracker.Fix) bool { return !area.seesFix(&f) })
	}
	if !s.audited(c, "positions.read", "positions", gin.H{"vehicles": len(fs)}) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"positions": fs})
}

// track answers a vehicle's fixes over a period. The vehicle is named by its id or its plate;
// a vehicle nobody registered (a device admitted unknown reports as itself) by its id, and a
// name that is neither a vehicle nor has fixes is a 404 that says so.
func (s *Server) track(c *gin.Context) {
	ref := c.Param("id")
	from, to, ok := s.period(c, 24*time.Hour, maxTrackPeriod)
	if !ok {
		return
	}
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "columns" {
		if !access.Allowed(session(c).Role, access.PermExport) {
			fail(c, http.StatusForbidden, "forbidden", "only investigators and administrators export tracks")
			return
		}
	}
	exporter, known := exporters[format]
	if !known && format != "json" && format != "columns" {
		badRequest(c, "format must be json, columns, geojson, gpx, kml or csv")
		return
	}
	area, ok := s.scope(c)
	if !ok {
		return
	}
	v, err := s.vehicleByRef(c.Request.Context(), ref)
	registered := err == nil
	switch {
	case registered:
	case errors.Is(err, tracker.ErrNotFound):
		v = tracker.Vehicle{ID: ref}
	default:
		s.refFail(c, ref, err)
		return
	}
	id := v.ID
	fixes, err := s.cfg.Store.Track(c.Request.Context(), id, from, to)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	if !registered && len(fixes) == 0 {
		s.refFail(c, ref, tracker.ErrNotFound)
		return
	}
	// A port unit gets the whole track of a vehicle that was in its area in the period (where
	// it came from is what an officer stopping it asks), none of one that never was.
	if area != nil && len(fixes) > 0 && !slices.ContainsFunc(fixes, func(f tracker.Fix) bool { return area.seesFix(&f) }) {
		fail(c, http.StatusForbidden, "outside_unit", "this vehicle was not in your unit's area in this period")
		return
	}
	detail := gin.H{"vehicle_id": id, "from": from, "to": to, "fixes": len(fixes), "format": format}
	switch format {
	case "json":
		if !s.audited(c, "track.view", "vehicle:"+id, detail) {
			return
		}
		c.JSON(http.StatusOK, gin.H{"vehicle_id": id, "from": from, "to": to, "fixes": fixes})
		return
	case "columns":
		if !s.audited(c, "track.view", "vehicle:"+id, detail) {
			return
		}
		c.Data(http.StatusOK, "application/json", trackColumns(id, from, to, fixes))
		return
	}
	if !s.audited(c, "track.export", "vehicle:"+id, detail) {
		return
	}
	c.Header("Content-Disposition", attachment(exportName(v, from, to, exporter.ext)))
	c.Header("Content-Type", exporter.mime)
	c.Status(http.StatusOK)
	if err := exporter.write(c.Writer, v, fixes); err != nil {
		s.log.Warn("track export failed", "vehicle", id, "format", format, "err", err)
	}
}

// chinaTime is China Standard Time, in which officers read exports. China keeps no daylight
// saving, so a fixed zone is exact and needs no time zone database on the server.
var chinaTime = time.FixedZone("CST", 8*3600)

// exportName is an export's file name: the plate (the id of a vehicle without one) and the
// period in China time, e.g. 蒙B00001_20261101-0800_20261101-0900.csv.
func exportName(v tracker.Vehicle, from, to time.Time, ext string) string {
	const stamp = "20060102-1504"
	return fmt.Sprintf("%s_%s_%s.%s", vehicleLabel(v), from.In(chinaTime).Format(stamp), to.In(chinaTime).Format(stamp), ext)
}

// vehicleLabel is how a person knows the vehicle: its plate, or its id when it has none.
func vehicleLabel(v tracker.Vehicle) string {
	if v.Plate != "" {
		return v.Plate
	}
	return v.ID
}

// trackColumns is the compact track for drawing long periods: one array per field, integers
// only, times and coordinates as differences from the previous fix. A month of fixes every
// 10 s is ~5 MB instead of ~80 MB of fix objects, and parses in a fraction of the time.
//
//	t       milliseconds since 1970: the first fix's, then the difference to the previous one
//	lat,lon micro-degrees, the same way (differences of the rounded values: no drift)
//	speed   tenths of km/h
//	invalid indices of the fixes the device marked invalid
//	seal    the e-seal's state where it changes: {"i":index,"state":…,"battery_low":bool};
//	        only the changes, since a seal reports the same state for days
func trackColumns(id string, from, to time.Time, fixes []tracker.Fix) []byte {
	b := make([]byte, 0, 64+len(fixes)*24)
	b = append(b, `{"vehicle_id":`...)
	b = strconv.AppendQuote(b, id)
	b = append(b, `,"from":"`...)
	b = from.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","to":"`...)
	b = to.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","count":`...)
	b = strconv.AppendInt(b, int64(len(fixes)), 10)
	column := func(name string, v func(f *tracker.Fix) int64, delta bool) {
		b = append(b, `,"`...)
		b = append(b, name...)
		b = append(b, `":[`...)
		var prev int64
		for i := range fixes {
			x := v(&fixes[i])
			if i > 0 {
				b = append(b, ',')
			}
			if delta {
				b = strconv.AppendInt(b, x-prev, 10)
				prev = x
			} else {
				b = strconv.AppendInt(b, x, 10)
			}
		}
		b = append(b, ']')
	}
	column("t", func(f *tracker.Fix) int64 { return f.Time.UnixMilli() }, true)
	column("lat", func(f *tracker.Fix) int64 { return int64(math.Round(f.Lat * 1e6)) }, true)
	column("lon", func(f *tracker.Fix) int64 { return int64(math.Round(f.Lon * 1e6)) }, true)
	column("speed", func(f *tracker.Fix) int64 { return int64(math.Round(f.SpeedKmh * 10)) }, false)
	b = append(b, `,"invalid":[`...)
	n := 0
	for i := range fixes {
		if !fixes[i].Valid {
			if n > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(i), 10)
			n++
		}
	}
	b = append(b, `],"seal":[`...)
	n = 0
	var state string
	var low bool
	for i := range fixes {
		s := sealState(fixes[i].Attrs)
		l, _ := fixes[i].Attrs[tracker.AttrBatteryLow].(bool)
		if s == "" || (s == state && l == low) {
			continue
		}
		state, low = s, l
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"i":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"state":`...)
		b = strconv.AppendQuote(b, s)
		b = append(b, `,"battery_low":`...)
		b = strconv.AppendBool(b, l)
		b = append(b, '}')
		n++
	}
	// The time the device claimed for each fix placed at its receipt (its clock was ahead):
	// the replay shows it beside the time the fix counts at.
	b = append(b, `],"device_time":[`...)
	n = 0
	for i := range fixes {
		dt, _ := fixes[i].Attrs[tracker.AttrDeviceTime].(string)
		if dt == "" || !fixes[i].HasFlag(tracker.FlagRetimed) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"i":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"t":`...)
		b = strconv.AppendQuote(b, dt)
		b = append(b, '}')
		n++
	}
	return append(b, "]}"...)
}

// sealState is the e-seal's state a fix tells: its state, or the opening it reports (a JT701
// lock event carries the event alone; the state follows in the next report).
func sealState(attrs map[string]any) string {
	if s, _ := attrs[tracker.AttrSealState].(string); s != "" {
		return s
	}
	if e, _ := attrs[tracker.AttrSealEvent].(string); tracker.SealOpen(e) {
		return e
	}
	return ""
}

type exporter struct {
	ext, mime string
	write     func(w io.Writer, v tracker.Vehicle, fixes []tracker.Fix) error
}

var exporters = map[string]exporter{
	"geojson": {"geojson", "application/geo+json", writeGeoJSON},
	"gpx":     {"gpx", "application/gpx+xml", writeGPX},
	"kml":     {"kml", "application/vnd.google-earth.kml+xml", writeKML},
	"csv":     {"csv", "text/csv; charset=utf-8", writeCSV},
}

// writeGeoJSON writes the track as a LineString of the valid fixes plus one Point per fix with
// its properties, so evidence keeps every fix, valid or not.
func writeGeoJSON(w io.Writer, v tracker.Vehicle, fixes []tracker.Fix) error {
	type feature struct {
		Type       string         `json:"type"`
		Geometry   any            `json:"geometry"`
		Properties map[string]any `json:"properties"`
	}
	type geometry struct {
		Type        string `json:"type"`
		Coordinates any    `json:"coordinates"`
	}
	line := [][]float64{}
	feats := make([]feature, 0, len(fixes)+1)
	for _, f := range fixes {
		if f.Valid {
			line = append(line, []float64{f.Lon, f.Lat})
		}
	}
	feats = append(feats, feature{"Feature", geometry{"LineString", line}, map[string]any{"vehicle_id": v.ID, "plate": v.Plate, "kind": "track", "fixes": len(fixes)}})
	for _, f := range fixes {
		feats = append(feats, feature{"Feature", geometry{"Point", []float64{f.Lon, f.Lat}}, map[string]any{
			"id": f.ID, "vehicle_id": f.VehicleID, "device_id": f.DeviceID, "time": f.Time, "received_at": f.ReceivedAt,
			"speed_kmh": f.SpeedKmh, "heading": f.Heading, "altitude_m": f.AltitudeM, "valid": f.Valid, "late": f.Late, "flags": f.Flags,
		}})
	}
	return json.NewEncoder(w).Encode(map[string]any{"type": "FeatureCollection", "features": feats})
}

func writeGPX(w io.Writer, v tracker.Vehicle, fixes []tracker.Fix) error {
	type trkpt struct {
		Lat   float64 `xml:"lat,attr"`
		Lon   float64 `xml:"lon,attr"`
		Ele   float64 `xml:"ele"`
		Time  string  `xml:"time"`
		Speed float64 `xml:"speed"` // GPX 1.0 kept it in m/s; readers of 1.1 accept it as an extension-free hint
	}
	type gpx struct {
		XMLName xml.Name `xml:"gpx"`
		Version string   `xml:"version,attr"`
		Creator string   `xml:"creator,attr"`
		NS      string   `xml:"xmlns,attr"`
		Trk     struct {
			Name string  `xml:"name"`
			Pts  []trkpt `xml:"trkseg>trkpt"`
		} `xml:"trk"`
	}
	var g gpx
	g.Version, g.Creator, g.NS = "1.0", "BorderWatch", "http://www.topografix.com/GPX/1/0"
	g.Trk.Name = vehicleLabel(v)
	for _, f := range fixes {
		if !f.Valid {
			continue
		}
		g.Trk.Pts = append(g.Trk.Pts, trkpt{f.Lat, f.Lon, f.AltitudeM, f.Time.Format(time.RFC3339), f.SpeedKmh / 3.6})
	}
	w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	enc.Indent("", " ")
	return enc.Encode(g)
}

func writeKML(w io.Writer, v tracker.Vehicle, fixes []tracker.Fix) error {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2"><Document><name>`)
	xml.EscapeText(&b, []byte(vehicleLabel(v)))
	b.WriteString(`</name><Placemark><name>`)
	xml.EscapeText(&b, []byte(vehicleLabel(v)))
	b.WriteString("</name><gx:Track>\n")
	for _, f := range fixes {
		if f.Valid {
			fmt.Fprintf(&b, "<when>%s</when>\n", f.Time.Format(time.RFC3339))
		}
	}
	for _, f := range fixes {
		if f.Valid {
			fmt.Fprintf(&b, "<gx:coord>%s %s %s</gx:coord>\n", ff(f.Lon), ff(f.Lat), ff(f.AltitudeM))
		}
	}
	b.WriteString("</gx:Track></Placemark></Document></kml>\n")
	_, err := w.Write([]byte(b.String()))
	return err
}

// csvHeader is the CSV export's header, in Chinese for the officers who open it in Excel.
var csvHeader = []string{"车牌", "车辆编号", "终端编号", "定位时间（北京时间）", "接收时间（北京时间）", "纬度", "经度",
	"速度（公里/时）", "方向（度）", "海拔（米）", "定位有效", "补传", "标志", "记录号"}

// writeCSV writes one row per fix, times in China time to the second. It starts with a UTF-8
// byte order mark: without one Excel reads the file as the local ANSI code page and the
// Chinese header and plates turn to mojibake. Its text cells come from devices and
// registrations, so each goes through spreadsheetText; the numbers and times are the server's own.
func writeCSV(w io.Writer, v tracker.Vehicle, fixes []tracker.Fix) error {
	if _, err := w.Write([]byte("\uFEFF")); err != nil {
		return err
	}
	const stamp = "2006-01-02 15:04:05"
	yes := func(b bool) string {
		if b {
			return "是"
		}
		return "否"
	}
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	for _, f := range fixes {
		cw.Write([]string{spreadsheetText(v.Plate), spreadsheetText(f.VehicleID), spreadsheetText(f.DeviceID),
			f.Time.In(chinaTime).Format(stamp), f.ReceivedAt.In(chinaTime).Format(stamp),
			ff(f.Lat), ff(f.Lon), ff(f.SpeedKmh), ff(f.Heading), ff(f.AltitudeM), yes(f.Valid), yes(f.Late),
			spreadsheetText(strings.Join(f.Flags, ";")), strconv.FormatInt(f.ID, 10)})
	}
	cw.Flush()
	return cw.Error()
}

// spreadsheetText keeps a spreadsheet from taking a text cell for a formula (CSV injection, e.g.
// a device named =HYPERLINK(…)): a cell that starts with = + - @, a tab or a line break gets a
// leading apostrophe, which makes spreadsheets read it as text.
func spreadsheetText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r\n", rune(s[0])) {
		return "'" + s
	}
	return s
}

// attachment is the Content-Disposition of a download named name (RFC 6266): an ASCII filename
// for old clients and the name in UTF-8 as filename* (RFC 8187), so a plate such as 蒙A00001
// survives. Characters that could end the parameter, name a directory or hide in a log (quotes,
// slashes, separators, controls) become '_' in both. mime.FormatMediaType writes only one of
// the two parameters, so the header is put together here.
func attachment(name string) string {
	var ascii, utf strings.Builder
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' && r != '-' && r != '_' {
			r = '_'
		}
		utf.WriteRune(r)
		if r >= utf8.RuneSelf {
			r = '_'
		}
		ascii.WriteRune(r)
	}
	var b strings.Builder
	b.WriteString("attachment; filename=")
	b.WriteString(ascii.String())
	b.WriteString("; filename*=UTF-8''")
	for _, c := range []byte(utf.String()) {
		if c < utf8.RuneSelf && (c == '.' || c == '-' || c == '_' || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func ff(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// search answers "every vehicle inside an area over a period": bbox=minLon,minLat,maxLon,maxLat.
func (s *Server) search(c *gin.Context) {
	parts := strings.Split(c.Query("bbox"), ",")
	if len(parts) != 4 {
		badRequest(c, "bbox must be minLon,minLat,maxLon,maxLat")
		return
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			badRequest(c, "bbox must be four numbers")
			return
		}
		v[i] = f
	}
	box := tracker.Box{MinLon: v[0], MinLat: v[1], MaxLon: v[2], MaxLat: v[3]}
	if box.MinLat > box.MaxLat || box.MinLon > box.MaxLon || box.MinLat < -90 || box.MaxLat > 90 || box.MinLon < -180 || box.MaxLon > 180 {
		badRequest(c, "bbox out of range or min greater than max")
		return
	}
	from, to, ok := s.period(c, time.Hour, maxTrackPeriod)
	if !ok {
		return
	}
	limit := 10000
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100000 {
			badRequest(c, "limit must be 1..100000")
			return
		}
		limit = n
	}
	fixes, err := s.cfg.Store.SearchArea(c.Request.Context(), box, from, to, limit)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	vehicles := map[string]int{}
	for _, f := range fixes {
		vehicles[f.VehicleID]++
	}
	if !s.audited(c, "area.search", fmt.Sprintf("bbox:%v", v), gin.H{"from": from, "to": to, "fixes": len(fixes)}) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"fixes": fixes, "vehicles": vehicles, "truncated": len(fixes) == limit})
}
