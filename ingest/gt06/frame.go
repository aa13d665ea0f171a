// Package gt06 speaks the GT06 protocol of Concox trackers and their many compatibles: the
// frame codec (decode and encode, so the simulator can play a tracker) and a TCP gateway that
// turns location packets into tracker.Fix values.
//
// A frame is
//
//	78 78 | length BYTE | protocol | content | serial WORD | CRC WORD | 0D 0A
//	79 79 | length WORD | protocol | content | serial WORD | CRC WORD | 0D 0A
//
// where length counts protocol through CRC and the CRC is CRC-16/X-25 over length through serial.
// Some older clones send a few packets without serial and CRC; the Reader accepts those (see
// Reader.Next), ParseFrame does not.
package gt06

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Protocol numbers this package knows. Where makes use one number for different layouts, the
// name is the layout that carries a position; the comment names the models.
const (
	ProtoLogin           = 0x01
	ProtoGPS             = 0x10
	ProtoGPSLBSWide      = 0x11 // GPS and a cell with a 2-byte MNC (ZX303)
	ProtoGPSLBS          = 0x12
	ProtoStatus          = 0x13
	ProtoAlarm           = 0x16
	ProtoLBSAlarm        = 0x19 // alarm with a cell, without GPS; cell lists on Space10X
	ProtoGPSLBSRFID      = 0x17 // and Wi-Fi lists
	ProtoGPSPhone        = 0x1A
	ProtoGPSLBSExtend    = 0x1E // JI09
	ProtoText            = 0x21 // a command's answer in text; WHERE answers with a position
	ProtoGPSLBS2         = 0x22
	ProtoHeartbeat       = 0x23 // GK310
	ProtoGPSLBSMulti     = 0x24 // SR411 mini; cell lists on other models
	ProtoGPSLBSDriver    = 0x25 // XT40
	ProtoAlarm2          = 0x26
	ProtoAlarm3          = 0x27
	ProtoGPSLBS4         = 0x2D
	ProtoGPSLBS5         = 0x31 // AZ735, SL4X
	ProtoGPSLBSStatus4   = 0x32 // SL4X; AZ735 extended
	ProtoAlarmAZ735      = 0x33 // AZ735 extended; Wi-Fi lists short
	ProtoGPSX1           = 0x34 // X1; cell lists on SL4X
	ProtoGPSRFID         = 0x36 // TRX16I; status on Jimi IoT 4G
	ProtoGPSLBS3         = 0x37
	ProtoGPSLBS8         = 0x38
	ProtoGPSIButton      = 0x61
	ProtoModular         = 0x70
	ProtoTime            = 0x8A // time request (GK310 and 4G models)
	ProtoInfo            = 0x94 // information: supply voltage, ICCID, door, …
	ProtoEventAlarm      = 0x95 // JC100, JC400
	ProtoGPSLBS4G        = 0xA0 // 4G location (GK310, JM-VL03 and the 4G Concox / Jimi line)
	ProtoLBS4G           = 0xA1 // 4G cell list
	ProtoGPSLBSStatus4G  = 0xA2 // LWxG; Wi-Fi and cell lists on GK310
	ProtoFenceAlarm      = 0xA3 // GK310; status on SEEWORLD
	ProtoMultiFenceAlarm = 0xA4 // GK310, JM-LL301
	ProtoLBSAlarm4G      = 0xA5 // alarm with a 4G cell, without GPS
	DefaultMaxSize       = 1024 // bytes of a whole frame; GT06 packets are far smaller
)

// Framing limits: start (2) + length (1) + protocol (1) + serial (2) + CRC (2) + stop (2).
const (
	minShortFrame = 10
	minLength     = 5 // protocol + serial + CRC
)

// Packet is one GT06 packet without its framing.
type Packet struct {
	Extended bool   // sent in a 79 79 frame with a 2-byte length
	Protocol byte   // protocol number
	Content  []byte // between protocol number and serial
	Serial   uint16 // information serial number, echoed in the acknowledgement
}

// FrameError is a frame the reader could not accept. The stream stays usable: the reader has
// skipped the frame (or its start marker) and continues with the next one.
type FrameError struct {
	Reason string // "crc", "too_large" or "malformed", the bw_frames_rejected_total reason
	Detail string
}

func (e *FrameError) Error() string { return "gt06: " + e.Reason + ": " + e.Detail }

// Frame reasons.
const (
	ReasonCRC       = "crc"
	ReasonTooLarge  = "too_large"
	ReasonMalformed = "malformed"
)

// ParseFrame decodes exactly one whole frame, start and stop marks included.
func ParseFrame(frame []byte) (Packet, error) {
	if len(frame) < minShortFrame {
		return Packet{}, &FrameError{ReasonMalformed, "short frame"}
	}
	var p Packet
	var hdr, length int
	switch {
	case frame[0] == 0x78 && frame[1] == 0x78:
		hdr, length = 3, int(frame[2])
	case frame[0] == 0x79 && frame[1] == 0x79:
		hdr, length = 4, int(binary.BigEndian.Uint16(frame[2:]))
		p.Extended = true
	default:
		return Packet{}, &FrameError{ReasonMalformed, "no start mark"}
	}
	if length < minLength || hdr+length+2 != len(frame) {
		return Packet{}, &FrameError{ReasonMalformed, fmt.Sprintf("length %d does not match a %d-byte frame", length, len(frame))}
	}
	if frame[len(frame)-2] != 0x0D || frame[len(frame)-1] != 0x0A {
		return Packet{}, &FrameError{ReasonMalformed, "no stop mark"}
	}
	end := len(frame) - 4 // start of CRC
	if got, want := CRC(frame[2:end]), binary.BigEndian.Uint16(frame[end:]); got != want {
		return Packet{}, &FrameError{ReasonCRC, fmt.Sprintf("computed %04X, frame carries %04X", got, want)}
	}
	p.Protocol = frame[hdr]
	p.Content = frame[hdr+1 : end-2]
	p.Serial = binary.BigEndian.Uint16(frame[end-2:])
	return p, nil
}

// AppendFrame appends p framed (78 78 when it fits in a 1-byte length and p is not Extended,
// 79 79 otherwise) to dst.
func AppendFrame(dst []byte, p Packet) []byte {
	length := 1 + len(p.Content) + 2 + 2
	start := len(dst)
	if p.Extended || length > 0xFF {
		dst = append(dst, 0x79, 0x79, byte(length>>8), byte(length))
	} else {
		dst = append(dst, 0x78, 0x78, byte(length))
	}
	dst = append(dst, p.Protocol)
	dst = append(dst, p.Content...)
	dst = binary.BigEndian.AppendUint16(dst, p.Serial)
	dst = binary.BigEndian.AppendUint16(dst, CRC(dst[start+2:]))
	return append(dst, 0x0D, 0x0A)
}

// Reader splits a byte stream into frames: several frames in one read, a frame split over
// reads, and bytes between frames are all handled.
type Reader struct {
	r       *bufio.Reader
	max     int
	skipped int
}

// NewReader returns a Reader of frames no larger than maxSize bytes (DefaultMaxSize when 0).
func NewReader(r io.Reader, maxSize int) *Reader {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if maxSize < minShortFrame {
		maxSize = minShortFrame
	}
	return &Reader{r: bufio.NewReaderSize(r, maxSize+4), max: maxSize}
}

// Skipped returns the number of bytes discarded so far while looking for a start mark.
func (r *Reader) Skipped() int { return r.skipped }

// Next returns the next packet. Its Content aliases the reader's buffer and is valid until the
// following call. A *FrameError reports a frame that was skipped; any other error comes from
// the underlying reader (io.EOF at a clean end).
//
// Besides framed packets Next accepts the two layouts without serial and CRC that clones send
// (their packets get serial 0): a login 78 78 0D 01 IMEI BYTE 0D 0A, and GPS packets (0x10,
// 0x11) 78 78 length protocol content 0D 0A whose length counts the content alone. Each is
// taken only where the framed reading of the same bytes fails.
func (r *Reader) Next() (Packet, error) {
	if err := r.findStart(); err != nil {
		return Packet{}, err
	}
	head, err := r.r.Peek(4)
	if err != nil {
		return Packet{}, eofIsUnexpected(err, len(head))
	}
	var size int
	if head[0] == 0x78 {
		size = 3 + int(head[2]) + 2
		if head[2] == noCRCLoginLen && head[3] == ProtoLogin {
			// Checked before the framed login, which is 3 bytes longer: a device that sent
			// the short one waits for its answer, and reading further would wait with it.
			if p, ok := r.noCRCLogin(); ok {
				return p, nil
			}
		}
	} else {
		size = 4 + int(binary.BigEndian.Uint16(head[2:])) + 2
	}
	if size > r.max {
		r.r.Discard(2)
		return Packet{}, &FrameError{ReasonTooLarge, fmt.Sprintf("%d-byte frame, limit %d", size, r.max)}
	}
	if size < minShortFrame {
		r.r.Discard(2)
		return Packet{}, &FrameError{ReasonMalformed, "length too small"}
	}
	frame, err := r.r.Peek(size)
	if err != nil {
		return Packet{}, eofIsUnexpected(err, len(frame))
	}
	p, err := ParseFrame(frame)
	if fe, ok := err.(*FrameError); ok && fe.Reason == ReasonMalformed {
		if p, ok := r.noCRCGPS(frame); ok {
			return p, nil
		}
		// The length was wrong (or the start mark was data): resynchronise just after the mark
		// rather than trusting the length.
		r.r.Discard(2)
		return Packet{}, err
	}
	r.r.Discard(size)
	return p, err
}

// noCRCLoginLen is the length byte of a login without serial and CRC, the framed login's.
const noCRCLoginLen = 0x0D

// noCRCLogin takes a login without serial and CRC (15 bytes) when the buffer holds one and
// not a framed login.
func (r *Reader) noCRCLogin() (Packet, bool) {
	const size = 4 + imeiLen + 1 + 2
	b, err := r.r.Peek(size)
	if err != nil || b[size-2] != 0x0D || b[size-1] != 0x0A || !isIMEI(b[4:]) {
		return Packet{}, false
	}
	if r.r.Buffered() >= size+3 {
		if framed, _ := r.r.Peek(size + 3); framed != nil {
			if _, err := ParseFrame(framed); err == nil {
				return Packet{}, false
			}
		}
	}
	p := Packet{Protocol: ProtoLogin, Content: b[4 : 4+imeiLen+1]}
	r.r.Discard(size)
	return p, true
}

// noCRCGPS takes a GPS packet without serial and CRC, one byte longer than frame, the framed
// reading of its bytes.
func (r *Reader) noCRCGPS(frame []byte) (Packet, bool) {
	n := int(frame[2])
	if frame[0] != 0x78 || (frame[3] != ProtoGPS && frame[3] != ProtoGPSLBSWide) || n < gpsLen || frame[len(frame)-1] != 0x0D {
		return Packet{}, false
	}
	b, err := r.r.Peek(len(frame) + 1)
	if err != nil || b[len(b)-1] != 0x0A {
		return Packet{}, false
	}
	p := Packet{Protocol: b[3], Content: b[4 : 4+n]}
	r.r.Discard(len(b))
	return p, true
}

// findStart discards bytes up to the next 78 78 or 79 79.
func (r *Reader) findStart() error {
	for {
		b, err := r.r.Peek(2)
		if err != nil {
			if len(b) == 1 && err == io.EOF {
				r.skipped++
				r.r.Discard(1)
			}
			return err
		}
		if (b[0] == 0x78 || b[0] == 0x79) && b[1] == b[0] {
			return nil
		}
		// Skip to the next candidate byte in what is buffered.
		buf, _ := r.r.Peek(r.r.Buffered())
		n := 1 + indexStart(buf[1:])
		if n == 0 {
			n = len(buf)
		}
		r.skipped += n
		r.r.Discard(n)
	}
}

// indexStart returns the index of the first 0x78 or 0x79 in b, or -1.
func indexStart(b []byte) int {
	i, j := bytes.IndexByte(b, 0x78), bytes.IndexByte(b, 0x79)
	switch {
	case i < 0:
		return j
	case j < 0 || i < j:
		return i
	}
	return j
}

func eofIsUnexpected(err error, n int) error {
	if err == io.EOF && n > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}
