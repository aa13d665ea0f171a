package mapui

import (
	"archive/zip"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/daily"
	"github.com/borderwatch/borderwatch/tracker/targeting"
)

// alertInView is the alert id names if the user's area shows it; otherwise it has answered
// (404 for an alert outside the area, as for one that does not exist) and returns false.
func (s *Server) alertInView(c *gin.Context) (tracker.Alert, bool) {
	id, ok := alertID(c)
	if !ok {
		return tracker.Alert{}, false
	}
	area, ok := s.scope(c)
	if !ok {
		return tracker.Alert{}, false
	}
	a, err := s.cfg.Store.Alert(c.Request.Context(), id)
	if err == nil && !area.seesAlert(&a) {
		err = tracker.ErrNotFound
	}
	if err != nil {
		s.storeFail(c, err)
		return a, false
	}
	return a, true
}

// alertPhoto answers a photo of one of the alert's inspections to a user who may see the alert.
// The hash must be one of that alert's orders' photos: knowing a photo's hash is not enough.
func (s *Server) alertPhoto(c *gin.Context) {
	a, ok := s.alertInView(c)
	if !ok {
		return
	}
	if s.cfg.Targets == nil {
		s.storeFail(c, tracker.ErrNotFound)
		return
	}
	p, err := s.cfg.Targets.AlertPhoto(c.Request.Context(), a, c.Param("sha"))
	switch {
	case errors.Is(err, targeting.ErrInvalid):
		badRequest(c, "a photo is named by its SHA-256 in lower-case hex")
		return
	case err != nil:
		s.storeFail(c, err)
		return
	}
	if !s.audited(c, "alert.photo", "alert:"+strconv.FormatInt(a.ID, 10), gin.H{"sha256": p.SHA256}) {
		return
	}
	c.Header("Cache-Control", "private, max-age=86400, immutable")
	c.Header("Content-Disposition", "inline")
	c.Data(http.StatusOK, p.ContentType, p.Data)
}

// Evidence bundles (GET /alerts/{id}/evidence): what an investigator hands on, a ZIP that
// stands on its own. Each file's SHA-256 is in manifest.json and SHA256SUMS (checked with
// `sha256sum -c SHA256SUMS`); the bundle's own SHA-256 goes into the audit chain, so that the
// copy handed on can be matched with the export that made it.
const (
	evidenceReadme   = "说明.txt"
	evidenceManifest = "manifest.json"
	evidenceSums     = "SHA256SUMS"
	// The track in the bundle: as the alert's replay opens, an hour before to half an hour after.
	evidenceTrackBefore = time.Hour
	evidenceTrackAfter  = 30 * time.Minute
)

// evidenceFile is one file of a bundle as the manifest lists it.
type evidenceFile struct {
	Name        string `json:"name"`
	SHA256      string `json:"sha256"`
	Size        int    `json:"size"`
	Description string `json:"description"`
}

// evidenceManifestDoc is manifest.json.
type evidenceManifestDoc struct {
	Format      string                 `json:"format"`
	ExportedBy  string                 `json:"exported_by"`
	ExportedAt  time.Time              `json:"exported_at"`
	Alert       alertAnswer            `json:"alert"`
	Inspections []targeting.Inspection `json:"inspections"`
	TrackFrom   time.Time              `json:"track_from"`
	TrackTo     time.Time              `json:"track_to"`
	TrackFixes  int                    `json:"track_fixes"`
	Files       []evidenceFile         `json:"files"`
}

// zipFiles writes files into a ZIP, dated in China time (a ZIP's times have no zone: the
// officer's clock is the one that reads them), and keeps each one's digest for the manifest.
type zipFiles struct {
	zw    *zip.Writer
	at    time.Time
	files []evidenceFile
}

func (z *zipFiles) add(name, description string, data []byte) error {
	// Photos are JPEG, PNG or WebP, compressed already: stored as they are.
	method := zip.Deflate
	if strings.HasPrefix(name, "photos/") {
		method = zip.Store
	}
	w, err := z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: z.at})
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	z.files = append(z.files, evidenceFile{Name: name, SHA256: hex.EncodeToString(sum[:]), Size: len(data), Description: description})
	return nil
}

var photoExt = map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}

// alertEvidence answers the alert's evidence bundle: the alert, its inspections' results and
// photos, the vehicle's track around it, a manifest with every file's SHA-256, SHA256SUMS and
// a description in Chinese.
func (s *Server) alertEvidence(c *gin.Context) {
	a, ok := s.alertInView(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	out := alertAnswer{Alert: a}
	v, err := s.cfg.Store.Vehicle(ctx, a.VehicleID)
	switch {
	case err == nil:
		out.Plate, out.VehicleKind = v.Plate, v.Kind
	case errors.Is(err, tracker.ErrNotFound):
		v = tracker.Vehicle{ID: a.VehicleID}
	default:
		s.storeFail(c, err)
		return
	}
	var insp []targeting.Inspection
	if s.cfg.Targets != nil {
		if insp, err = s.cfg.Targets.AlertInspections(ctx, a); err != nil {
			s.storeFail(c, err)
			return
		}
	}
	from, to := a.Time.Add(-evidenceTrackBefore), a.Time.Add(evidenceTrackAfter)
	fixes, err := s.cfg.Store.Track(ctx, a.VehicleID, from, to)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	now := s.cfg.Now().UTC()
	// The bundle is made in a temporary file, hashed as it is written, audited with its hash and
	// only then sent: an alert's photos may reach tens of MiB, which are not held in memory.
	f, err := os.CreateTemp("", "bw-evidence-*.zip")
	if err != nil {
		s.storeFail(c, err)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	z := &zipFiles{zw: zip.NewWriter(io.MultiWriter(f, h)), at: now.In(chinaTime)}
	m := evidenceManifestDoc{Format: "borderwatch-evidence/1", ExportedBy: session(c).Username, ExportedAt: now, Alert: out,
		Inspections: insp, TrackFrom: from, TrackTo: to, TrackFixes: len(fixes)}
	if err := s.writeEvidence(c, z, &m, v, fixes); err != nil {
		s.storeFail(c, err)
		return
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		s.storeFail(c, err)
		return
	}
	sum := h.Sum(nil)
	name := evidenceName(out, v)
	if !s.audited(c, "alert.export", "alert:"+strconv.FormatInt(a.ID, 10), gin.H{"file": name, "sha256": hex.EncodeToString(sum),
		"size": size, "files": m.Files}) {
		return
	}
	c.Header("Content-Disposition", attachment(name))
	// RFC 9530: the receiver can check what arrived against what the audit recorded.
	c.Header("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	c.Header("Cache-Control", "no-store")
	c.DataFromReader(http.StatusOK, size, "application/zip", f, nil)
}

// writeEvidence writes the bundle's files into z: the alert, the track, the photos, the
// description, the manifest (listing those before it) and SHA256SUMS (listing all).
func (s *Server) writeEvidence(c *gin.Context, z *zipFiles, m *evidenceManifestDoc, v tracker.Vehicle, fixes []tracker.Fix) error {
	ctx := c.Request.Context()
	alertJSON, err := json.MarshalIndent(m.Alert, "", "  ")
	if err != nil {
		return err
	}
	if err := z.add("alert.json", "告警原始记录（含规则记下的证据）", alertJSON); err != nil {
		return err
	}
	var track bytes.Buffer
	if err := writeCSV(&track, v, fixes); err != nil {
		return err
	}
	if err := z.add("track.csv", "告警前1小时至告警后30分钟的车辆轨迹（北京时间）", track.Bytes()); err != nil {
		return err
	}
	for _, in := range m.Inspections {
		for _, ph := range in.Photos {
			p, err := s.cfg.Targets.AlertPhoto(ctx, m.Alert.Alert, ph.SHA256)
			if err != nil {
				return err
			}
			desc := fmt.Sprintf("查验照片，%s 于 %s 上传", p.By, p.At.In(chinaTime).Format(cnStamp))
			if err := z.add(photoName(p), desc, p.Data); err != nil {
				return err
			}
		}
	}
	zs, err := s.cfg.Store.Zones(ctx)
	if err != nil {
		return err
	}
	names := make(map[string]string, len(zs))
	for _, zn := range zs {
		names[zn.ID] = zn.Name
	}
	if err := z.add(evidenceReadme, "本证据包的中文说明", []byte(evidenceText(m, names))); err != nil {
		return err
	}
	m.Files = z.files
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := z.add(evidenceManifest, "清单：告警、查验结果、每个文件的SHA-256", manifest); err != nil {
		return err
	}
	var sums strings.Builder
	for _, f := range z.files {
		fmt.Fprintf(&sums, "%s  %s\n", f.SHA256, f.Name)
	}
	if err := z.add(evidenceSums, "每个文件的SHA-256（sha256sum -c SHA256SUMS）", []byte(sums.String())); err != nil {
		return err
	}
	return z.zw.Close()
}

// photoName is a photo's name in a bundle: its SHA-256, so that the name itself checks it.
func photoName(p tracker.Photo) string {
	return path.Join("photos", p.SHA256+photoExt[p.ContentType])
}

// evidenceName is a bundle's file name: 证据_蒙B00001_告警123_20261101-0830.zip (the alert's
// time in China time).
func evidenceName(a alertAnswer, v tracker.Vehicle) string {
	who := cmp.Or(a.Plate, v.ID)
	return fmt.Sprintf("证据_%s_告警%d_%s.zip", who, a.ID, a.Time.In(chinaTime).Format("20060102-1504"))
}

// cnStamp is a time as the bundle's text writes it, in China time.
const cnStamp = "2006-01-02 15:04:05"

var (
	severityNames = map[string]string{tracker.SeverityInfo: "提示", tracker.SeverityWarning: "警告", tracker.SeverityCritical: "严重"}
	statusNames   = map[string]string{tracker.StatusOpen: "未处理", tracker.StatusAcknowledged: "已确认", tracker.StatusResolved: "已处置"}
	actionNames   = map[string]string{tracker.TargetInspectNextCrossing: "下次过境查验", tracker.TargetInspectAtYard: "到场站查验",
		tracker.TargetInterceptNow: "立即拦截"}
	findingNames = map[string]string{tracker.FindingUndeclaredGoods: "未申报货物", tracker.FindingProhibitedItems: "禁限物品",
		tracker.FindingMisdeclared: "品级或重量申报不实", tracker.FindingNone: "无"}
	firedViaNames = map[string]string{targeting.ViaGateRead: "卡口读取", targeting.ViaArrival: "GPS到达", targeting.ViaDeclaration: "申报",
		targeting.ViaIssued: "下达即执行"}
)

func nameOr(names map[string]string, key string) string {
	if n, ok := names[key]; ok {
		return n
	}
	return key
}

// resolveNote is an alert's note in Chinese where the server wrote it (reportTarget's).
func resolveNote(note string) string {
	if note == "inspection: nothing found" {
		return "查验：未发现问题"
	}
	if c, ok := strings.CutPrefix(note, "inspection: found "); ok {
		return "查验：查获" + nameOr(findingNames, c)
	}
	return note
}

// evidenceText is 说明.txt: the bundle in words for whoever receives it, in Chinese, times in
// China time, zones by name, and how to check the files.
func evidenceText(m *evidenceManifestDoc, zones map[string]string) string {
	var b strings.Builder
	cst := func(t time.Time) string { return t.In(chinaTime).Format(cnStamp) }
	// A byte order mark and CRLF: Windows' older Notepad reads it as UTF-8 then, line by line.
	b.WriteString("\uFEFF")
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	a := m.Alert
	line("BorderWatch 告警证据包")
	line("导出人：%s　导出时间：%s（北京时间）", m.ExportedBy, cst(m.ExportedAt))
	line("")
	line("一、告警")
	line("　类型：%s", daily.AlertName(a.Type))
	line("　严重程度：%s", nameOr(severityNames, a.Severity))
	line("　时间：%s（北京时间）", cst(a.Time))
	vehicle := cmp.Or(a.Plate, a.VehicleID)
	if a.VehicleKind != "" {
		vehicle += "（" + daily.KindName(a.VehicleKind) + "）"
	}
	line("　车辆：%s", vehicle)
	if a.Lat != 0 || a.Lon != 0 {
		line("　位置：北纬 %.5f°，东经 %.5f°", a.Lat, a.Lon)
	}
	if a.ZoneID != nil && *a.ZoneID != "" {
		line("　区域：%s", nameOr(zones, *a.ZoneID))
	}
	status := nameOr(statusNames, a.Status)
	if a.ResolvedBy != "" && a.ResolvedAt != nil {
		status += fmt.Sprintf("（%s，%s）", a.ResolvedBy, cst(*a.ResolvedAt))
	} else if a.AckedBy != "" && a.AckedAt != nil {
		status += fmt.Sprintf("（%s，%s）", a.AckedBy, cst(*a.AckedAt))
	}
	line("　状态：%s", status)
	if a.Note != "" {
		line("　处置备注：%s", resolveNote(a.Note))
	}
	line("　规则记下的证据见 alert.json 的 evidence。")
	line("")
	line("二、布控与查验")
	if len(m.Inspections) == 0 {
		line("　本告警没有布控查验。")
	}
	for i, in := range m.Inspections {
		o := in.Order
		line("　%d. %s，%s 于 %s 下达", i+1, nameOr(actionNames, o.Action), o.IssuedBy, cst(o.CreatedAt))
		if o.FiredAt != nil {
			where := ""
			if o.FiredZoneID != "" {
				where = "，" + nameOr(zones, o.FiredZoneID)
			}
			line("　　命中：%s%s，%s", nameOr(firedViaNames, o.FiredVia), where, cst(*o.FiredAt))
		}
		if r := o.Result; r != nil {
			verdict := "未发现问题"
			if r.Found {
				verdict = "查获：" + nameOr(findingNames, r.Category)
			}
			line("　　结果：%s（%s 报告，%s）", verdict, r.By, cst(r.At))
			if r.Note != "" {
				line("　　查验备注：%s", r.Note)
			}
		} else {
			line("　　结果：尚未报告")
		}
		for _, p := range in.Photos {
			line("　　照片 %s", photoName(p))
			line("　　　SHA-256 %s，%d 字节，%s 于 %s 上传", p.SHA256, p.Size, p.By, cst(p.At))
		}
	}
	line("")
	line("三、轨迹")
	line("　track.csv：%s 至 %s（北京时间），%d 个定位点。", cst(m.TrackFrom), cst(m.TrackTo), m.TrackFixes)
	line("")
	line("四、校验")
	line("　每个文件的SHA-256列在 SHA256SUMS 和 manifest.json 中；照片的文件名就是其SHA-256。")
	line("　Linux/macOS：sha256sum -c SHA256SUMS")
	line("　Windows：certutil -hashfile 文件名 SHA256")
	line("　本证据包（ZIP文件）自身的SHA-256记录在系统的审计日志中（操作：导出告警证据包），可与收到的文件核对。")
	return b.String()
}
