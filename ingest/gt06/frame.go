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
package gt06

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Protocol numbers this package knows.
const (
	ProtoLogin     = 0x01
	ProtoGPS       = 0x10
	ProtoGPSLBS    = 0x12
	ProtoStatus    = 0x13
	ProtoAlarm     = 0x16
	ProtoGPSLBS2   = 0x22
	ProtoAlarm2    = 0x26
	DefaultMaxSize = 1024 // bytes of a whole frame; GT06 packets are far smaller
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
		// The length was wrong (or the start mark was data): resynchronise just after the mark
		// rather than trusting the length.
		r.r.Discard(2)
		return Packet{}, err
	}
	r.r.Discard(size)
	return p, err
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
