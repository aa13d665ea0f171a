// Package jt600 speaks the protocol of Jointech's JT600 trackers and of the JT701 family of
// GPS e-seals (electronic customs locks): the codec (decode, and encode of what the simulator
// sends) and a TCP gateway that turns reports into tracker.Fix values, the seal's state in
// their attributes.
//
// Two kinds of frame share one connection, without a checksum:
//
//	$ | id BCD[5] | [version] | type | length WORD | records… | index      binary
//	( id , type , fields… )                                               text (ASCII)
//
// The binary frame is long (JT701, with the seal's status word) when the byte after the type
// would be a zero length high byte, short (JT600 trackers) otherwise; length + 10 is the whole
// frame either way. Text frames escape '(' ')' ',' '=' inside binary payloads as 3D 15, 3D 14,
// 3D 11 and 3D 00.
package jt600

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// DefaultMaxSize bounds a frame: the longest binary one (15 short records) has 416 bytes.
const DefaultMaxSize = 2048

// Frame sizes: a short binary frame with one record, a long one with its fixed part.
const (
	minShort  = 9 + shortRecLen + 1
	minLong   = 10 + longRecLen + 1
	minText   = 4 // "(1,)" at least
	escapeTxt = 0x3d
)

// FrameError is a frame the reader could not accept. The stream stays usable: the reader has
// skipped the frame (or its start mark) and goes on with the next one.
type FrameError struct {
	Reason string // ReasonTooLarge or ReasonMalformed, the bw_frames_rejected_total reason
	Detail string
}

func (e *FrameError) Error() string { return "jt600: " + e.Reason + ": " + e.Detail }

// Frame reasons.
const (
	ReasonTooLarge  = "too_large"
	ReasonMalformed = "malformed"
)

// Reader splits a byte stream into frames: several in one read, one split over reads, and
// bytes between frames are all handled.
type Reader struct {
	r       *bufio.Reader
	max     int
	skipped int
	text    []byte
}

// NewReader returns a Reader of frames no larger than maxSize bytes (DefaultMaxSize when 0).
func NewReader(r io.Reader, maxSize int) *Reader {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	maxSize = max(maxSize, minLong)
	return &Reader{r: bufio.NewReaderSize(r, maxSize+16), max: maxSize}
}

// Skipped returns the number of bytes discarded so far while looking for a start mark.
func (r *Reader) Skipped() int { return r.skipped }

// Next returns the next frame: a binary one as sent, a text one unescaped, parentheses
// included. It aliases the reader's buffers and is valid until the following call. A
// *FrameError reports a frame that was skipped; any other error comes from the underlying
// reader (io.EOF at a clean end).
func (r *Reader) Next() ([]byte, error) {
	if err := r.findStart(); err != nil {
		return nil, err
	}
	first, _ := r.r.Peek(1)
	if first[0] == '(' {
		return r.nextText()
	}
	return r.nextBinary()
}

func (r *Reader) nextBinary() ([]byte, error) {
	head, err := r.r.Peek(10)
	if err != nil {
		return nil, eofIsUnexpected(err, len(head))
	}
	size := 10 + int(binary.BigEndian.Uint16(head[7:]))
	if long := head[8] == 0; long {
		size = 10 + int(binary.BigEndian.Uint16(head[8:]))
	}
	if size > r.max {
		r.r.Discard(1)
		return nil, &FrameError{ReasonTooLarge, fmt.Sprintf("%d-byte frame, limit %d", size, r.max)}
	}
	frame, err := r.r.Peek(size)
	if err != nil {
		return nil, eofIsUnexpected(err, len(frame))
	}
	if err := checkBinary(frame); err != nil {
		// The length was wrong, or the '$' was data: resynchronise just after the mark rather
		// than trusting the length.
		r.r.Discard(1)
		return nil, &FrameError{ReasonMalformed, err.Error()}
	}
	r.r.Discard(size)
	return frame, nil
}

func (r *Reader) nextText() ([]byte, error) {
	var raw []byte
	for n := 2; ; n = min(max(n+1, r.r.Buffered()), r.max) {
		b, err := r.r.Peek(n)
		if len(b) > 1 {
			// A '(' before the ')' means this frame was cut short: the next one starts there.
			// (Binary payloads escape both.)
			if i := bytes.IndexAny(b[1:], "()"); i >= 0 && b[1+i] == '(' {
				r.r.Discard(1 + i)
				return nil, &FrameError{ReasonMalformed, "text frame without its ')'"}
			} else if i >= 0 {
				raw = b[:2+i]
				break
			}
		}
		if err != nil {
			return nil, eofIsUnexpected(err, len(b))
		}
		if n == r.max {
			r.r.Discard(1)
			return nil, &FrameError{ReasonTooLarge, fmt.Sprintf("no ')' within %d bytes", r.max)}
		}
	}
	var err error
	r.text, err = unescapeText(r.text[:0], raw)
	r.r.Discard(len(raw))
	if err != nil {
		return nil, &FrameError{ReasonMalformed, err.Error()}
	}
	if len(r.text) < minText {
		return nil, &FrameError{ReasonMalformed, "empty text frame"}
	}
	return r.text, nil
}

// unescapeText appends raw to dst with the escapes of binary payloads undone.
func unescapeText(dst, raw []byte) ([]byte, error) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == escapeTxt {
			if i+1 == len(raw) {
				return dst, fmt.Errorf("escape at the end of a text frame")
			}
			i++
			switch raw[i] {
			case 0x15:
				c = '('
			case 0x14:
				c = ')'
			case 0x11:
				c = ','
			case 0x00:
				c = escapeTxt
			default:
				return dst, fmt.Errorf("bad escape 3D %02X", raw[i])
			}
		}
		dst = append(dst, c)
	}
	return dst, nil
}

// AppendEscapedText appends b, a binary payload of a text frame, escaped.
func AppendEscapedText(dst, b []byte) []byte {
	for _, c := range b {
		switch c {
		case '(':
			dst = append(dst, escapeTxt, 0x15)
		case ')':
			dst = append(dst, escapeTxt, 0x14)
		case ',':
			dst = append(dst, escapeTxt, 0x11)
		case escapeTxt:
			dst = append(dst, escapeTxt, 0x00)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// findStart discards bytes up to the next '$' or '('.
func (r *Reader) findStart() error {
	for {
		b, err := r.r.Peek(1)
		if err != nil {
			return err
		}
		if b[0] == '$' || b[0] == '(' {
			return nil
		}
		buf, _ := r.r.Peek(r.r.Buffered())
		n := bytes.IndexAny(buf, "$(")
		if n < 0 {
			n = len(buf)
		}
		r.skipped += n
		r.r.Discard(n)
	}
}

func eofIsUnexpected(err error, n int) error {
	if err == io.EOF && n > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}
