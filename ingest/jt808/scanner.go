package jt808

import (
	"bytes"
	"errors"
	"io"
	"sync"
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

	// With a pool (the gateway's scanners), the buffer is taken from it when data can be read
	// and given back whenever it holds nothing still needed, so that an idle connection holds
	// no buffer however large the reads are. lr then does the reading.
	pool *sync.Pool // of *[]byte, each at least max+2 long
	pbuf *[]byte    // the pooled buffer held, nil when none
	lr   lazyReader
}

// A lazyReader reads into sc.space(), asked for only once data can be read; when it waits
// for data it calls sc.idle() first.
type lazyReader interface {
	readInto(sc *Scanner) (int, error)
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

// newPooledScanner returns a Scanner whose buffers come from pool (each at least maxFrame+2
// bytes long) and which reads through lr.
func newPooledScanner(lr lazyReader, maxFrame int, pool *sync.Pool) *Scanner {
	s := NewScanner(nil, maxFrame)
	s.lr, s.pool = lr, pool
	return s
}

// space returns the free end of the buffer, taking a buffer first when there is none.
func (s *Scanner) space() []byte {
	if s.buf == nil {
		if s.pool != nil {
			s.pbuf = s.pool.Get().(*[]byte)
			s.buf = *s.pbuf
		} else {
			s.buf = make([]byte, initialScanBuf)
		}
	}
	return s.buf[s.end:]
}

// idle gives a pooled buffer back when it holds no data still to be scanned.
func (s *Scanner) idle() {
	if s.pbuf == nil || s.start != s.end {
		return
	}
	s.start, s.end = 0, 0
	s.pool.Put(s.pbuf)
	s.pbuf, s.buf = nil, nil
}

// release gives a pooled buffer back whatever it holds: the stream is done.
func (s *Scanner) release() {
	s.start = s.end
	s.idle()
}

// fill reads more data, compacting and growing the buffer as needed.
func (s *Scanner) fill() {
	if s.start == s.end {
		s.start, s.end = 0, 0
		s.idle()
	}
	if s.lr != nil {
		// Part of a frame is left: move it to the front, so the read has the whole buffer
		// but that part (the buffer holds more than a frame: it never grows).
		if s.start > 0 {
			s.end = copy(s.buf, s.buf[s.start:s.end])
			s.start = 0
		}
		n, err := s.lr.readInto(s)
		s.end += n
		if err != nil {
			s.err = err
		}
		return
	}
	s.space()
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
