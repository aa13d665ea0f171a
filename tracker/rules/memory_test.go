package rules

import (
	"testing"
	"unsafe"
)

// TestVehicleStateSize: every vehicle holds a vstate. Beyond 512 bytes an object with pointers
// carries the allocator's 8-byte header: at most 568 bytes fit the 576-byte size class (at 616
// it took 640).
func TestVehicleStateSize(t *testing.T) {
	if n := unsafe.Sizeof(vstate{}); n > 568 {
		t.Errorf("vstate is %d bytes, want at most 568", n)
	}
}
