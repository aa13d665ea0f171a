package jt808

import (
	"errors"
	"time"
)

// maxParts bounds the package count of one message (the index alone costs memory).
const maxParts = 256

// ErrFragmentDropped reports sub-packages given up: the message was abandoned for another,
// exceeded the memory bound, or timed out.
var ErrFragmentDropped = errors.New("jt808: sub-packages dropped")

// Reassembler joins the sub-packages of one long message (header bit 13). It holds at most
// one message at a time, of at most 256 packages and MaxBytes of body, for at most Timeout:
// terminals send the packages of a message one after the other, so a connection needs no more.
type Reassembler struct {
	MaxBytes int           // bound on the buffered body; 0 means 64 KiB
	Timeout  time.Duration // a message not completed by then is dropped; 0 means 1 minute

	msgID   uint16
	total   uint16
	started time.Time
	parts   [][]byte
	have    int
	size    int
}

// Add takes one sub-package. When it completes a message, Add returns the whole message — its
// header that of the completing package with the sub-package fields cleared — and true.
// ErrFragmentDropped reports that earlier packages were discarded (the new package is kept when
// it can start a message); ErrMalformed reports a package whose numbering makes no sense.
func (r *Reassembler) Add(f Frame, now time.Time) (Frame, bool, error) {
	h := f.Header
	if h.Total == 0 || h.Index == 0 || h.Index > h.Total {
		return Frame{}, false, malformed("sub-package %d of %d", h.Index, h.Total)
	}
	maxBytes, timeout := r.MaxBytes, r.Timeout
	if maxBytes <= 0 {
		maxBytes = 64 << 10
	}
	if timeout <= 0 {
		timeout = time.Minute
	}
	var dropped error
	if r.parts != nil && (r.msgID != h.MsgID || r.total != h.Total || now.Sub(r.started) > timeout) {
		r.reset()
		dropped = ErrFragmentDropped
	}
	if r.parts == nil {
		if h.Total > maxParts {
			return Frame{}, false, ErrFragmentDropped
		}
		r.msgID, r.total, r.started = h.MsgID, h.Total, now
		r.parts = make([][]byte, h.Total)
	}
	if r.size+len(f.Body) > maxBytes {
		r.reset()
		return Frame{}, false, ErrFragmentDropped
	}
	i := h.Index - 1
	if r.parts[i] == nil {
		r.have++
	} else {
		r.size -= len(r.parts[i])
	}
	// The body aliases the scanner's buffer; keep a copy (non-nil even when empty).
	r.parts[i] = append(make([]byte, 0, len(f.Body)), f.Body...)
	r.size += len(f.Body)
	if r.have < int(r.total) {
		return Frame{}, false, dropped
	}
	body := make([]byte, 0, r.size)
	for _, p := range r.parts {
		body = append(body, p...)
	}
	r.reset()
	h.Fragmented, h.Total, h.Index = false, 0, 0
	h.BodyLen = len(body)
	return Frame{Header: h, Body: body}, true, dropped
}

func (r *Reassembler) reset() {
	r.parts, r.have, r.size = nil, 0, 0
}
