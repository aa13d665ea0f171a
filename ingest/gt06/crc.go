package gt06

// crcTable is the table of CRC-16/X-25 (reflected polynomial 0x1021, i.e. 0x8408).
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x8408
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

// CRC returns the CRC-16/X-25 of b (init 0xFFFF, xorout 0xFFFF), the checksum GT06 frames carry
// over their length through serial fields.
func CRC(b []byte) uint16 {
	c := uint16(0xFFFF)
	for _, x := range b {
		c = c>>8 ^ crcTable[byte(c)^x]
	}
	return ^c
}
