package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at build time, as `make package` does:
//
//	go build -ldflags "-X main.version=1.2.0 -X main.commit=$(git rev-parse HEAD) -X main.date=2026-01-02T03:04:05Z"
var version, commit, date string

// readBuildInfo is what the Go toolchain recorded in the binary; nil when it recorded nothing.
func readBuildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}

// describeBuild is the line `borderwatch version` prints. What -ldflags did not set comes from
// the build info: the module version (go install …@v1.2.0), the VCS revision and commit time
// (go build in a checkout); the version is "dev" when neither knows it.
func describeBuild(version, commit, date string, bi *debug.BuildInfo) string {
	modified := false
	if bi != nil {
		if version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if commit == "" {
					commit = s.Value
				}
			case "vcs.time":
				if date == "" {
					date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if version == "" {
		version = "dev"
	}
	if commit == "" {
		commit = "unknown"
	} else if modified {
		commit += "+modified"
	}
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("borderwatch %s (commit %s, built %s, %s %s/%s)", version, commit, date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
