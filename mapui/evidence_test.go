package mapui_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/targeting"
)

// inspectedAlert runs ERN's alert through an inspection that found undeclared goods with two
// photos, and returns the photos.
func inspectedAlert(t *testing.T, a *api, ernAlert int64) (tracker.TargetOrder, [][]byte) {
	t.Helper()
	var o tracker.TargetOrder
	a.req("POST", "/api/v1/targets", a.tokens[access.RoleCommand], map[string]any{"alert_id": ernAlert, "reason": "alert", "action": "inspect_next_crossing"}, 201, &o)
	if hold, _ := gateRead(a, "蒙K12345"); !hold {
		t.Fatal("the targeted truck's gate read was not held")
	}
	photos := [][]byte{pngPhoto(t, 200), pngPhoto(t, 90)}
	for _, p := range photos {
		a.upload("/api/v1/targets/"+o.ID+"/photos", a.tokens["patrol-erenhot"], "photo", "IMG.png", p, 201)
	}
	a.req("POST", "/api/v1/targets/"+o.ID+"/result", a.tokens["patrol-erenhot"], map[string]any{"found": true, "category": "undeclared_goods",
		"note": "车厢夹层藏匿未申报货物"}, 200, &o)
	return o, photos
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestAlertInspectionEvidence: the alert's detail carries its inspection (result, note, who,
// when) and the photos' hashes, times and uploaders; the photos are served under the alert to
// those who may see the alert and to nobody else, whatever the hash or path they try.
func TestAlertInspectionEvidence(t *testing.T) {
	a, ernAlert, cekAlert := targetAPI(t)
	o, photos := inspectedAlert(t, a, ernAlert)
	alertPath := fmt.Sprintf("/api/v1/alerts/%d", ernAlert)

	var got struct {
		tracker.Alert
		Inspections []targeting.Inspection
	}
	a.req("GET", alertPath, a.tokens["patrol-erenhot"], nil, 200, &got)
	if len(got.Inspections) != 1 {
		t.Fatalf("alert detail has %d inspections, want 1", len(got.Inspections))
	}
	in := got.Inspections[0]
	if r := in.Order.Result; in.Order.ID != o.ID || r == nil || !r.Found || r.Category != tracker.FindingUndeclaredGoods || r.By != "patrol-erenhot" ||
		r.Note != "车厢夹层藏匿未申报货物" || r.At.IsZero() {
		t.Errorf("inspection = %+v, result %+v", in.Order, in.Order.Result)
	}
	if len(in.Photos) != 2 {
		t.Fatalf("inspection photos = %+v, want 2", in.Photos)
	}
	for i, p := range in.Photos {
		if p.SHA256 != hexSum(photos[i]) || p.By != "patrol-erenhot" || p.At.IsZero() || p.Size != len(photos[i]) || p.ContentType != "image/png" {
			t.Errorf("photo %d = %+v, want sha256 %s", i, p, hexSum(photos[i]))
		}
	}
	// The list of alerts stays as it was: inspections are the detail's.
	if body := a.do("GET", "/api/v1/alerts", access.RoleCommand, nil, 200); bytes.Contains(body, []byte("inspections")) {
		t.Error("the alert list carries inspections")
	}
	var other struct{ Inspections []targeting.Inspection }
	a.req("GET", fmt.Sprintf("/api/v1/alerts/%d", cekAlert), a.tokens[access.RoleCommand], nil, 200, &other)
	if len(other.Inspections) != 0 {
		t.Errorf("CEK's alert shows ERN's inspection: %+v", other.Inspections)
	}

	sha := hexSum(photos[0])
	for _, who := range []string{access.RoleCommand, access.RoleInvestigator, "patrol-erenhot", "command-erenhot"} {
		if b := a.req("GET", alertPath+"/photos/"+sha, a.tokens[who], nil, 200, nil); !bytes.Equal(b, photos[0]) {
			t.Errorf("%s got other bytes than the photo", who)
		}
	}
	// Attacks. Ceke's units may not see Erenhot's alert: its photos are not found, as the alert.
	a.req("GET", alertPath+"/photos/"+sha, a.tokens["patrol-ceke"], nil, 404, nil)
	a.req("GET", alertPath+"/photos/"+sha, a.tokens["command-ceke"], nil, 404, nil)
	// The hash of a photo Ceke may not see, asked for under an alert Ceke may see.
	a.req("GET", fmt.Sprintf("/api/v1/alerts/%d/photos/%s", cekAlert, sha), a.tokens["patrol-ceke"], nil, 404, nil)
	a.req("GET", fmt.Sprintf("/api/v1/alerts/%d/photos/%s", cekAlert, sha), a.tokens[access.RoleCommand], nil, 404, nil)
	// Roles without view, and nobody.
	a.req("GET", alertPath+"/photos/"+sha, a.tokens[access.RoleAuditor], nil, 403, nil)
	a.req("GET", alertPath+"/photos/"+sha, "", nil, 401, nil)
	// A hash nobody uploaded, and names that are no hash.
	a.req("GET", alertPath+"/photos/"+strings.Repeat("0", 64), a.tokens[access.RoleCommand], nil, 404, nil)
	for _, name := range []string{strings.ToUpper(sha), sha + ".png", sha[:63], "%2e%2e", sha + "%00", "*"} {
		a.req("GET", alertPath+"/photos/"+name, a.tokens[access.RoleCommand], nil, 400, nil)
	}
	for _, p := range []string{"/api/v1/alerts/0/photos/" + sha, "/api/v1/alerts/-1/photos/" + sha, "/api/v1/alerts/1e3/photos/" + sha} {
		a.req("GET", p, a.tokens[access.RoleCommand], nil, 400, nil)
	}
	// Paths the router cleans or refuses never reach a photo.
	for _, p := range []string{alertPath + "/photos/..%2F..%2Fetc%2Fpasswd", alertPath + "/photos/" + sha + "/..", alertPath + "/photos/../photos/" + sha + "/x", alertPath + "/photos//" + sha} {
		req, _ := http.NewRequest("GET", a.srv.URL+p, nil)
		req.Header.Set("Authorization", "Bearer "+a.tokens["patrol-ceke"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 || bytes.Equal(b, photos[0]) {
			t.Errorf("GET %s as Ceke's patrol: %d with %d bytes", p, resp.StatusCode, len(b))
		}
	}
}

// TestAlertEvidenceBundle: an investigator's evidence bundle holds the alert, the track, the
// photos byte for byte named by their hash, a description in Chinese, a manifest and
// SHA256SUMS that check; the bundle's own hash is in its Content-Digest and in the audit.
// Only those who may export get one.
func TestAlertEvidenceBundle(t *testing.T) {
	a, ernAlert, _ := targetAPI(t)
	_, photos := inspectedAlert(t, a, ernAlert)
	url := fmt.Sprintf("/api/v1/alerts/%d/evidence", ernAlert)
	for _, who := range []string{access.RoleCommand, access.RolePatrol, "command-erenhot", access.RoleAuditor} {
		a.req("GET", url, a.tokens[who], nil, 403, nil)
	}
	a.do("GET", "/api/v1/alerts/999999/evidence", access.RoleInvestigator, nil, 404)
	a.do("GET", "/api/v1/alerts/x/evidence", access.RoleInvestigator, nil, 400)

	resp, body := a.get(url, access.RoleInvestigator)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("evidence: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sum := sha256.Sum256([]byte(body))
	if d := resp.Header.Get("Content-Digest"); d != "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":" {
		t.Errorf("Content-Digest %q does not match the body", d)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, "filename*=UTF-8''%E8%AF%81%E6%8D%AE_") || !strings.Contains(cd, ".zip") {
		t.Errorf("Content-Disposition = %q, want 证据_….zip", cd)
	}
	zr, err := zip.NewReader(bytes.NewReader([]byte(body)), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "/") || strings.Contains(f.Name, "..") || strings.Contains(f.Name, `\`) {
			t.Errorf("unsafe name in the bundle: %q", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	want := []string{"alert.json", "track.csv", "说明.txt", "manifest.json", "SHA256SUMS"}
	for _, p := range photos {
		want = append(want, "photos/"+hexSum(p)+".png")
		if !bytes.Equal(files["photos/"+hexSum(p)+".png"], p) {
			t.Errorf("photo %s differs from the one uploaded", hexSum(p))
		}
	}
	for _, name := range want {
		if _, ok := files[name]; !ok {
			t.Errorf("bundle lacks %s", name)
		}
	}
	if len(files) != len(want) {
		t.Errorf("bundle holds %d files, want %d", len(files), len(want))
	}
	// SHA256SUMS checks every other file, as sha256sum -c reads it.
	listed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(files["SHA256SUMS"]))
	for sc.Scan() {
		digest, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || hexSum(files[name]) != digest {
			t.Errorf("SHA256SUMS line %q does not check", sc.Text())
		}
		listed[name] = true
	}
	for name := range files {
		if name != "SHA256SUMS" && !listed[name] {
			t.Errorf("SHA256SUMS does not list %s", name)
		}
	}
	var m struct {
		ExportedBy  string `json:"exported_by"`
		Inspections []targeting.Inspection
		Files       []struct{ Name, SHA256 string }
	}
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m.ExportedBy != "investigator1" || len(m.Inspections) != 1 || len(m.Inspections[0].Photos) != 2 || !m.Inspections[0].Order.Result.Found {
		t.Errorf("manifest = %+v", m)
	}
	for _, f := range m.Files {
		if hexSum(files[f.Name]) != f.SHA256 {
			t.Errorf("manifest's hash of %s does not check", f.Name)
		}
	}
	text := string(files["说明.txt"])
	for _, s := range []string{"蒙K·12345", "口岸不符", "查获：未申报货物", "车厢夹层藏匿未申报货物", "二连浩特口岸", hexSum(photos[1]), "patrol-erenhot", "sha256sum -c SHA256SUMS", "（北京时间）", "处置备注：查验：查获未申报货物"} {
		if !strings.Contains(text, s) {
			t.Errorf("说明.txt lacks %q:\n%s", s, text)
		}
	}
	if !bytes.HasPrefix(files["track.csv"], []byte("\uFEFF车牌")) {
		t.Errorf("track.csv starts %q", files["track.csv"][:min(40, len(files["track.csv"]))])
	}

	// The audit holds the bundle's hash, and each photo viewed.
	var audit struct{ Records []tracker.AuditRecord }
	a.req("GET", "/api/v1/audit?limit=1000", a.tokens[access.RoleAuditor], nil, 200, &audit)
	i := slices.IndexFunc(audit.Records, func(r tracker.AuditRecord) bool { return r.Action == "alert.export" })
	if i < 0 || audit.Records[i].Actor != "investigator1" || !strings.Contains(string(audit.Records[i].Detail), hex.EncodeToString(sum[:])) {
		t.Errorf("no alert.export record by investigator1 with the bundle's SHA-256 %x", sum)
	}
}

// TestAlertEvidenceWithoutInspection: an alert nobody inspected exports too, and says so.
func TestAlertEvidenceWithoutInspection(t *testing.T) {
	a, _, cekAlert := targetAPI(t)
	resp, body := a.get(fmt.Sprintf("/api/v1/alerts/%d/evidence", cekAlert), access.RoleAdmin)
	if resp.StatusCode != 200 {
		t.Fatalf("evidence: %d %s", resp.StatusCode, body)
	}
	zr, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if path.Dir(f.Name) == "photos" {
			t.Errorf("a photo in an uninspected alert's bundle: %s", f.Name)
		}
		if f.Name == "说明.txt" {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			if !strings.Contains(string(b), "本告警没有布控查验") {
				t.Errorf("说明.txt does not say there was no inspection:\n%s", b)
			}
		}
	}
}
