package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestDescribeBuild(t *testing.T) {
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "975e7c7abc"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "false"},
	}}
	dirty := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "975e7c7abc"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	installed := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}
	for _, tc := range []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  string
	}{
		{"ldflags", "1.2.0", "0123abcd", "2026-03-04T05:06:07Z", vcs, "borderwatch 1.2.0 (commit 0123abcd, built 2026-03-04T05:06:07Z"},
		{"checkout", "", "", "", vcs, "borderwatch dev (commit 975e7c7abc, built 2026-01-02T03:04:05Z"},
		{"modified checkout", "", "", "", dirty, "borderwatch dev (commit 975e7c7abc+modified, built 2026-01-02T03:04:05Z"},
		{"go install", "", "", "", installed, "borderwatch v1.4.0 (commit unknown, built unknown"},
		{"nothing recorded", "", "", "", nil, "borderwatch dev (commit unknown, built unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := describeBuild(tc.version, tc.commit, tc.date, tc.bi)
			if !strings.HasPrefix(got, tc.want+", ") || !strings.HasSuffix(got, runtime.GOOS+"/"+runtime.GOARCH+")") {
				t.Errorf("got  %q\nwant %q, …", got, tc.want)
			}
		})
	}
}
