//go:build unix

package enginetest

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, so a benchmark on a busy machine can
// report its cost per operation rather than its share of the machine.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
