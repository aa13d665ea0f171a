package daily

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/risk"
)

// alertNames are the alert types as the web app names them in Chinese (mapui/web/src/i18n.ts):
// the report is read on paper, where the app cannot translate.
var alertNames = map[string]string{
	tracker.AlertDetour:                    "偏离线路",
	tracker.AlertUnauthorizedStop:          "违规停车",
	tracker.AlertCrossingMismatch:          "口岸不符",
	tracker.AlertBorderCrossingOutsidePort: "非口岸越境",
	tracker.AlertBorderCrossingUnverified:  "越境地点不明",
	tracker.AlertSignalLost:                "信号丢失",
	tracker.AlertGateMismatch:              "卡口信息不符",
	tracker.AlertOverstay:                  "逾期未出境",
	tracker.AlertMeeting:                   "异常会车",
	tracker.AlertDeviceConflict:            "终端位置冲突",
	tracker.AlertDeviceClockAhead:          "终端时钟超前",
	tracker.AlertSealOpened:                "关锁途中开启",
	tracker.AlertDriverMismatch:            "驾驶员与申报不符",
	tracker.AlertSOS:                       "紧急求救（SOS）",
}

// AlertName is an alert type's Chinese name; a type without one is shown as it is.
func AlertName(typ string) string {
	if n, ok := alertNames[typ]; ok {
		return n
	}
	return typ
}

// KindName is a vehicle kind's Chinese name.
func KindName(kind string) string {
	switch kind {
	case tracker.KindTruck:
		return "货车"
	case tracker.KindResidentCar:
		return "边民车辆"
	case tracker.KindPatrol:
		return "巡逻车"
	}
	return kind
}

// ProblemName is a device problem's Chinese name.
func ProblemName(p string) string {
	switch p {
	case ProblemSilent:
		return "静默（超过1小时无定位）"
	case ProblemNeverHeard:
		return "从未上报定位"
	case ProblemConflict:
		return "同一时刻两个位置（故障或克隆）"
	}
	return p
}

// Reasons says in Chinese why a vehicle ranks: its alerts, most first, then its crossings and
// its co-travel group and earlier findings, the vehicles named by plate.
func Reasons(t risk.Target, plate func(vehicleID string) string) []string {
	types := slices.Collect(maps.Keys(t.Alerts))
	slices.SortFunc(types, func(a, b string) int { return cmp.Or(cmp.Compare(t.Alerts[b], t.Alerts[a]), cmp.Compare(a, b)) })
	out := make([]string, 0, len(types)+1)
	for _, typ := range types {
		out = append(out, fmt.Sprintf("30天内%s %d 次", AlertName(typ), t.Alerts[typ]))
	}
	if t.Crossings > 0 {
		out = append(out, fmt.Sprintf("7天内跨境 %d 次", t.Crossings))
	}
	if g := t.Group; g != nil {
		others := make([]string, len(g.Others))
		for i, id := range g.Others {
			others[i] = plate(id)
		}
		r := fmt.Sprintf("与%s结伙同行，30天内同行 %d 次", strings.Join(others, "、"), g.Trips)
		if g.Meetings > 0 {
			r += fmt.Sprintf("、停车会面 %d 次", g.Meetings)
		}
		out = append(out, r)
	}
	if o := t.Offence; o != nil {
		r := fmt.Sprintf("此前查验查获 %d 次，最近一次 %s（%s）", o.Findings, o.Last.In(tracker.ChinaTime).Format(time.DateOnly), findingName(o.Category))
		if o.Via != "" {
			r = fmt.Sprintf("司机卡 %s 曾用于%s，该车%s", o.Card, plate(o.Via), r)
		}
		out = append(out, r)
	}
	if a := t.Ants; a != nil {
		out = append(out, fmt.Sprintf("蚂蚁搬家：7天内过境 %d 次，此前3周每周约 %.1f 次，边民车辆中位数 %.1f 次（稳健z值 %.1f）", a.Week, a.OwnWeekly, a.PeerMedian, a.Z))
	}
	return out
}

// findingName is an inspection finding's Chinese name.
func findingName(c string) string {
	switch c {
	case tracker.FindingUndeclaredGoods:
		return "未申报货物"
	case tracker.FindingProhibitedItems:
		return "禁限物品"
	case tracker.FindingMisdeclared:
		return "品级或重量申报不实"
	}
	return c
}

// deviceProblems lists the devices of vehicles silent for SilentAfter or never heard, and those
// of vehicles with a device conflict on the day, by plate.
func deviceProblems(devices []tracker.Device, latest []tracker.Fix, conflicts []tracker.Alert, vehicles map[string]tracker.Vehicle, now time.Time) []DeviceProblem {
	last := make(map[string]time.Time, len(latest))
	for _, f := range latest {
		last[f.VehicleID] = f.Time
	}
	conflicted := map[string]bool{}
	for _, a := range conflicts {
		conflicted[a.VehicleID] = true
	}
	out := []DeviceProblem{}
	for _, d := range devices {
		if d.VehicleID == "" {
			continue
		}
		p := DeviceProblem{DeviceID: d.ID, VehicleID: d.VehicleID, Plate: vehicles[d.VehicleID].Plate}
		t, heard := last[d.VehicleID]
		if heard {
			p.LastFix = &t
		}
		switch {
		case conflicted[d.VehicleID]:
			p.Problem = ProblemConflict
		case !heard:
			p.Problem = ProblemNeverHeard
		case now.Sub(t) > SilentAfter:
			p.Problem = ProblemSilent
		default:
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b DeviceProblem) int {
		return cmp.Or(cmp.Compare(a.Plate, b.Plate), cmp.Compare(a.DeviceID, b.DeviceID))
	})
	return out
}
