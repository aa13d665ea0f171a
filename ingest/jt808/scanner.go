package jt808

import (
	"bytes"
	"errors"
	"io"
)

// ErrFrameTooLarge is returned by Scanner.Next for a frame longer than the scanner's limit.
// The frame has been skipped; the stream can be read on.
var ErrFrameTooLarge = errors.New("jt808: frame too large")

// Scanner splits a byte stream into frames: several frames per read, a frame split over
// reads, bytes outside frames skipped, frames over a size limit dropped. Its buffer starts
// small and grows only as far as the limit, so idle connections stay cheap.
type Scanner struct {
	r     io.Reader
	max   int
	buf   []byte
	start int // first unconsumed byte
	end   int // end of buffered data
	// inFrame: buf[start] is the opening delimiter of the frame being gathered.
	inFrame bool
	// skipping: discarding an oversized frame up to its closing delimiter.
	skipping bool
	err      error
}

const initialScanBuf = 512

// NewScanner returns a Scanner reading from r that drops frames whose escaped content is
// longer than maxFrame bytes.
func NewScanner(r io.Reader, maxFrame int) *Scanner {
	if maxFrame < 16 {
		maxFrame = 16
	}
	return &Scanner{r: r, max: maxFrame}
}

// Next returns the content of the next frame, without delimiters and still escaped (pass it
// to DecodeFrame). It is valid until the next call. ErrFrameTooLarge reports a dropped frame
// and may be followed by more frames; any other error comes from the reader and ends the
// stream (io.EOF when it ended cleanly).
func (s *Scanner) Next() ([]byte, error) {
	for {
		if fr, ok, err := s.scan(); ok || err != nil {
			return fr, err
		}
		if s.err != nil {
			return nil, s.err
		}
		s.fill()
	}
}

// scan looks for a complete frame in the buffer.
func (s *Scanner) scan() ([]byte, bool, error) {
	for {
		if s.skipping {
			i := indexFlag(s.buf[s.start:s.end])
			if i < 0 {
				s.start = s.end
				return nil, false, nil
			}
			// The delimiter closes the oversized frame.
			s.start += i + 1
			s.skipping = false
			continue
		}
		if !s.inFrame {
			i := indexFlag(s.buf[s.start:s.end])
			if i < 0 {
				s.start = s.end // garbage between frames
				return nil, false, nil
			}
			s.start += i
			s.inFrame = true
		}
		content := s.buf[s.start+1 : s.end]
		i := indexFlag(content)
		if i < 0 {
			if len(content) > s.max {
				s.inFrame, s.skipping = false, true
				s.start = s.end
				return nil, false, ErrFrameTooLarge
			}
			return nil, false, nil
		}
		if i == 0 {
			// 7E 7E: the first closed a frame we never saw the start of (or is noise);
			// the second opens the next frame.
			s.start++
			continue
		}
		s.start += i + 2
		s.inFrame = false
		if i > s.max {
			return nil, false, ErrFrameTooLarge
		}
		return content[:i], true, nil
	}
}

// fill reads more data, compacting and growing the buffer as needed.
func (s *Scanner) fill() {
	if s.start == s.end {
		s.start, s.end = 0, 0
	}
	if s.buf == nil {
		s.buf = make([]byte, initialScanBuf)
	}
	if s.end == len(s.buf) {
		if s.start > 0 {
			s.end = copy(s.buf, s.buf[s.start:s.end])
			s.start = 0
		}
		if s.end == len(s.buf) {
			// Opening delimiter, at most max bytes of content and the closing delimiter;
			// scan reports a frame too large before the buffer could need more.
			nb := make([]byte, max(min(2*len(s.buf), s.max+2), len(s.buf)+1))
			copy(nb, s.buf[:s.end])
			s.buf = nb
		}
	}
	n, err := s.r.Read(s.buf[s.end:])
	s.end += n
	if err != nil {
		s.err = err
	}
}

func indexFlag(b []byte) int { return bytes.IndexByte(b, flag) }
