package sqlitestore

import (
	"math/bits"
	"sync"
)

// headBufs recycles the arrays of heads a flush has written: a head's entries and its chunk
// buffer, each ~100 KB for a vehicle filling heads to their flush length. Made anew for every
// head, they were most of the bytes allocated per fix, and Commit, which every submitter of a
// group commit waits for, paid for touching their fresh pages. A buffer goes back only once
// its flush has ended and nothing can reach it: readers copy what they keep of a head while
// they hold Store.mu (memEntries, SearchArea, LatestFixes), and the latest fix is copied out
// of a head when a flush takes it (series.resetHead). Pooled buffers are not counted in
// headBytes; sync.Pool drops them over two garbage collections when heads need fewer.
type headBufs struct {
	mu      sync.Mutex
	entries map[int]*sync.Pool // of *[]entry, by capacity
	bytes   map[int]*sync.Pool // of *[]byte, by capacity
}

// Smaller arrays are made as before: they are cheap, and a fleet of slow vehicles would
// otherwise spread over many classes.
const (
	minPooledEntries = 64
	minPooledBytes   = 4 << 10
)

// pooledSize rounds n up to a capacity with at most four significant bits: 1/8 more memory
// at most, and eight classes to pool by from one power of two to the next.
func pooledSize(n int) int {
	if n <= 16 {
		return n
	}
	shift := bits.Len(uint(n-1)) - 4
	return ((n-1)>>shift + 1) << shift
}

func (h *headBufs) pool(m *map[int]*sync.Pool, size int) *sync.Pool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if *m == nil {
		*m = map[int]*sync.Pool{}
	}
	p := (*m)[size]
	if p == nil {
		p = new(sync.Pool)
		(*m)[size] = p
	}
	return p
}

// getEntries returns an empty entries array for at least n.
func (h *headBufs) getEntries(n int) []entry { return get[entry](h, &h.entries, n, minPooledEntries) }

// getBytes returns an empty chunk buffer for at least n bytes.
func (h *headBufs) getBytes(n int) []byte { return get[byte](h, &h.bytes, n, minPooledBytes) }

// get returns an empty array for at least n from pools, or a new one; one for fewer than
// least is not pooled.
func get[T any](h *headBufs, pools *map[int]*sync.Pool, n, least int) []T {
	if n < least {
		return make([]T, 0, n)
	}
	size := pooledSize(n)
	if b, ok := h.pool(pools, size).Get().(*[]T); ok {
		return (*b)[:0]
	}
	return make([]T, 0, size)
}

// put takes back a written head's arrays.
func (h *headBufs) put(es []entry, buf []byte) {
	clear(es[:cap(es)]) // entries point at devices' names and at chunk buffers
	putBack(h, &h.entries, es, minPooledEntries)
	putBack(h, &h.bytes, buf, minPooledBytes)
}

// putBack pools b, unless it is not of a pooled size (made before, or grown by append): that
// one is left to the collector.
func putBack[T any](h *headBufs, pools *map[int]*sync.Pool, b []T, least int) {
	n := cap(b)
	if n < least || pooledSize(n) != n {
		return
	}
	b = b[:0]
	h.pool(pools, n).Put(&b)
}
