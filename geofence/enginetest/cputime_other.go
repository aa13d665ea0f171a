//go:build !unix

package enginetest

import "time"

func cpuTime() (time.Duration, bool) { return 0, false }
