package mapui

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/borderwatch/borderwatch/tracker/daily"
)

// dailyReport answers GET /reports/daily?date=YYYY-MM-DD (China date, default today there) as
// JSON, or with format=html a printable page, or with format=csv a spreadsheet.
func (s *Server) dailyReport(c *gin.Context) {
	now := s.cfg.Now()
	day, err := daily.ParseDate(c.DefaultQuery("date", now.In(tracker.ChinaTime).Format(time.DateOnly)))
	if err != nil {
		badRequest(c, err.Error())
		return
	}
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "html" && format != "csv" {
		badRequest(c, "format must be json, html or csv")
		return
	}
	if day.After(now) {
		badRequest(c, "date is in the future")
		return
	}
	by, ok := s.actor(c)
	if !ok {
		return
	}
	var rank daily.Ranker
	if s.cfg.Risk != nil {
		rank = s.cfg.Risk
	}
	r, err := daily.Make(c.Request.Context(), s.cfg.Store, rank, day, now, by.Unit)
	if err != nil {
		s.storeFail(c, err)
		return
	}
	switch format {
	case "html":
		s.dailyHTML(c, r)
	case "csv":
		dailyCSV(c, r)
	default:
		c.JSON(http.StatusOK, r)
	}
}

// reportStyle is the HTML report's only style, allowed by its hash: the API's policy allows
// nothing inline.
const reportStyle = `body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#111}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #888;padding:.25em .6em;text-align:left}
td.n{text-align:right}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}.trend{font-family:monospace;letter-spacing:-1px}
@media print{body{margin:0}h2{break-after:avoid}table{break-inside:avoid}}`

var reportPolicy = func() string {
	sum := sha256.Sum256([]byte(reportStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
}()

var reportTemplate = template.Must(template.New("daily").Funcs(template.FuncMap{
	"cst":     func(t time.Time) string { return t.In(tracker.ChinaTime).Format("2006-01-02 15:04") },
	"kind":    daily.KindName,
	"problem": daily.ProblemName,
	"spark":   spark,
	"join":    strings.Join,
	"inc":     func(i int) int { return i + 1 },
	"sections": func(r daily.Report) []daily.Section {
		if r.District.Name == "" {
			return r.Ports
		}
		return append([]daily.Section{r.District}, r.Ports...)
	},
}).Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>监管日报 {{.R.Date}}</title><style>{{.Style}}</style></head><body>
{{with .R}}<h1>监管日报 {{.Date}}</h1>
<p>生成时间：{{cst .GeneratedAt}}（北京时间）。在场货车、风险车辆与终端状况为生成时的情况。</p>
<h2>口岸概况</h2>
<table><tr><th>口岸</th><th>入境</th><th>出境</th><th>场站内货车</th><th>查验</th><th>查获</th></tr>
{{range sections .}}<tr><td>{{.Name}}</td><td class="n">{{.CrossingsIn}}</td><td class="n">{{.CrossingsOut}}</td><td class="n">{{.TrucksInYards}}</td><td class="n">{{.Inspections}}</td><td class="n">{{.Hits}}</td></tr>
{{end}}</table>
<h2>告警（当日与近30天趋势）</h2>
{{$dates := .TrendDates}}{{range sections .}}{{if .Alerts}}<h3>{{.Name}}</h3>
<table><tr><th>告警类型</th><th>当日</th><th>30天合计</th><th>趋势（{{index $dates 0}} 至 {{index $dates 29}}）</th></tr>
{{range .Alerts}}{{$s := spark .Trend}}<tr><td>{{.Name}}</td><td class="n">{{.Count}}</td><td class="n">{{$s.Total}}</td><td class="trend">{{$s.Bars}}</td></tr>
{{end}}</table>{{end}}{{end}}
<h2>风险车辆前20名</h2>
{{if .TopRisk}}<table><tr><th>序号</th><th>车牌</th><th>类别</th><th>风险分</th><th>原因</th></tr>
{{range $i, $v := .TopRisk}}<tr><td class="n">{{inc $i}}</td><td>{{$v.Plate}}</td><td>{{kind $v.Kind}}</td><td class="n">{{printf "%.2f" $v.Score}}</td><td>{{join $v.Reasons "；"}}</td></tr>
{{end}}</table>{{else}}<p>无达到阈值的车辆。</p>{{end}}
<h2>终端异常</h2>
{{if .Devices}}<table><tr><th>车牌</th><th>终端号</th><th>情况</th><th>最后定位</th></tr>
{{range .Devices}}<tr><td>{{.Plate}}</td><td>{{.DeviceID}}</td><td>{{problem .Problem}}</td><td>{{with .LastFix}}{{cst .}}{{else}}—{{end}}</td></tr>
{{end}}</table>{{else}}<p>无。</p>{{end}}{{end}}
</body></html>`))

// sparkline is a trend as block characters, readable on paper without a chart library.
type sparkline struct {
	Bars  string
	Total int
}

func spark(xs []int) sparkline {
	const blocks = "▁▂▃▄▅▆▇█"
	bars := []rune(blocks)
	var s sparkline
	hi := 0
	for _, x := range xs {
		s.Total += x
		hi = max(hi, x)
	}
	var b strings.Builder
	for _, x := range xs {
		switch {
		case x == 0:
			b.WriteRune('·')
		default:
			b.WriteRune(bars[(x*(len(bars)-1)+hi-1)/hi])
		}
	}
	s.Bars = b.String()
	return s
}

func (s *Server) dailyHTML(c *gin.Context, r daily.Report) {
	var page bytes.Buffer
	if err := reportTemplate.Execute(&page, struct {
		R     daily.Report
		Style template.CSS
	}{r, template.CSS(reportStyle)}); err != nil {
		s.log.Error("daily report page", "err", err)
		fail(c, http.StatusInternalServerError, "internal", "the report page could not be made")
		return
	}
	c.Header("Content-Security-Policy", reportPolicy)
	c.Data(http.StatusOK, "text/html; charset=utf-8", page.Bytes())
}

// dailyCSV writes the report as one table with a UTF-8 byte order mark, which Excel needs to
// read the Chinese: a section column, then the row's fields.
func dailyCSV(c *gin.Context, r daily.Report) {
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="daily-%s.csv"`, r.Date))
	c.Status(http.StatusOK)
	c.Writer.WriteString("\ufeff")
	w := csv.NewWriter(c.Writer)
	itoa := strconv.Itoa
	w.Write([]string{"监管日报", r.Date, "生成时间（北京时间）", r.GeneratedAt.In(tracker.ChinaTime).Format("2006-01-02 15:04")})
	w.Write([]string{"口岸", "入境", "出境", "场站内货车", "查验", "查获"})
	sections := r.Ports
	if r.District.Name != "" {
		sections = append([]daily.Section{r.District}, r.Ports...)
	}
	for _, s := range sections {
		w.Write([]string{cell(s.Name), itoa(s.CrossingsIn), itoa(s.CrossingsOut), itoa(s.TrucksInYards), itoa(s.Inspections), itoa(s.Hits)})
	}
	w.Write(nil)
	w.Write(append([]string{"口岸", "告警类型", "当日"}, r.TrendDates...))
	for _, s := range sections {
		for _, a := range s.Alerts {
			row := []string{cell(s.Name), cell(a.Name), itoa(a.Count)}
			for _, n := range a.Trend {
				row = append(row, itoa(n))
			}
			w.Write(row)
		}
	}
	w.Write(nil)
	w.Write([]string{"序号", "车牌", "类别", "风险分", "原因"})
	for i, v := range r.TopRisk {
		w.Write([]string{itoa(i + 1), cell(v.Plate), daily.KindName(v.Kind), strconv.FormatFloat(v.Score, 'f', 2, 64), cell(strings.Join(v.Reasons, "；"))})
	}
	w.Write(nil)
	w.Write([]string{"车牌", "终端号", "终端情况", "最后定位（北京时间）"})
	for _, d := range r.Devices {
		last := ""
		if d.LastFix != nil {
			last = d.LastFix.In(tracker.ChinaTime).Format("2006-01-02 15:04")
		}
		w.Write([]string{cell(d.Plate), cell(d.DeviceID), daily.ProblemName(d.Problem), last})
	}
	w.Flush()
}

// cell keeps a spreadsheet from running text as a formula: plates and names come from people.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
