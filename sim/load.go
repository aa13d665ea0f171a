package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/borderwatch/borderwatch/ingest/jt808"
)

// LoadConfig configures a load run.
type LoadConfig struct {
	Addr          string // JT/T 808 gateway, host:port
	Terminals     int    // connections, one per terminal; 0: 1000
	RatePerSecond int    // fixes per second over all terminals; 0: 10,000
	// FramesPerWrite is how many 0x0200 frames a terminal sends in one write without waiting
	// for their acknowledgements: pipelining, as the Tile38 reference pipelines its SETs. A
	// terminal on the road writes one frame every few seconds; thousands of connections
	// standing in for a whole fleet send tens of fixes a second each, which only pipelining
	// gets through. 0: 16.
	FramesPerWrite int
	// Items adds the extra items most terminals send: mileage (0x01), signal (0x30) and
	// satellites (0x31).
	Items    bool
	Duration time.Duration
	// Warmup is how long terminals send at the rate before measuring starts: the server meets
	// each as a new device, and a fleet that has just connected is not the steady state.
	Warmup time.Duration
	// Measuring, if set, is called when the warm-up ends.
	Measuring func()
	Protocol  string // "jt808" (the only one for now); empty: jt808
	PhoneBase uint64 // first terminal's phone number; 0: 14000000000
}

// LoadResult is what a load run measured.
type LoadResult struct {
	Sent, Acked     int64 // warm-up included
	AckedInTime     int64 // sent after the warm-up and acknowledged before Duration ended: what AckedPerSecond counts
	Refused         int64 // 0x8001 with a result other than OK
	Writes          int64
	Elapsed         time.Duration
	AckedPerSecond  float64
	P50, P99, Max   time.Duration // from the write of a frame to its 0x8001, for frames sent after the warm-up
	ConnectFailures int
	// MeasureStart is when the warm-up ended and measuring began (wall clock).
	MeasureStart time.Time
	// SecondP99 and SecondMax are the ack latencies of the frames sent in each whole second
	// after the warm-up, by the second they were sent in: where in a run a stall fell.
	SecondP99, SecondMax []time.Duration
}

func (r LoadResult) String() string {
	return fmt.Sprintf("sent %d in %d writes, acked %d (%.0f/s), refused %d, ack latency p50 %v p99 %v max %v, connect failures %d",
		r.Sent, r.Writes, r.Acked, r.AckedPerSecond, r.Refused, r.P50, r.P99, r.Max, r.ConnectFailures)
}

// Load drives a JT/T 808 gateway with many terminals over real TCP at an aggregate rate and
// measures acknowledgement latency. Terminals send 0x0200 without registering: the server
// must accept unknown devices or know them. Frames are encoded once per terminal and then
// patched in place (serial, position, time, mileage, checksum), so the generator costs little
// next to the server it drives on the same machine.
func Load(ctx context.Context, cfg LoadConfig) (LoadResult, error) {
	if cfg.Protocol != "" && cfg.Protocol != "jt808" {
		return LoadResult{}, fmt.Errorf("sim: load protocol %q: only jt808", cfg.Protocol)
	}
	if cfg.Terminals <= 0 {
		cfg.Terminals = 1000
	}
	if cfg.RatePerSecond <= 0 {
		cfg.RatePerSecond = 10000
	}
	if cfg.FramesPerWrite <= 0 {
		cfg.FramesPerWrite = 16
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.PhoneBase == 0 {
		cfg.PhoneBase = 14000000000
	}
	var res LoadResult
	var conns []*loadConn
	var d net.Dialer
	perSecond := float64(cfg.RatePerSecond) / float64(cfg.Terminals)
	// Device time starts far enough in the past that it never passes the present: a real
	// terminal reports each second at most once, and the server stores one fix per device and time.
	devStart := time.Now().Add(-time.Duration(perSecond*(cfg.Duration+cfg.Warmup).Seconds()+60) * time.Second).Truncate(time.Second)
	hist := new(latencies)
	secs := make([]*latencies, int(math.Ceil(cfg.Duration.Seconds())))
	for i := range secs {
		secs[i] = new(latencies)
	}
	for i := 0; i < cfg.Terminals; i++ {
		c, err := d.DialContext(ctx, "tcp", cfg.Addr)
		if err != nil {
			res.ConnectFailures++
			continue
		}
		ph, _ := jt808.ParsePhone(fmt.Sprint(cfg.PhoneBase+uint64(i)), false)
		lc := &loadConn{conn: c, hist: hist, secs: secs}
		lc.tpl = newFrameTemplate(ph, 42+float64(i%1000)/1000, 107, devStart, cfg.Items)
		conns = append(conns, lc)
	}
	if len(conns) == 0 {
		return res, errors.New("sim: load: no terminal could connect")
	}
	start := time.Now()
	end := start.Add(cfg.Warmup + cfg.Duration)
	// The deadline is end itself, so Elapsed is never shorter than the duration asked for.
	runCtx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var wg sync.WaitGroup
	per := float64(cfg.RatePerSecond) / float64(len(conns))
	interval := time.Duration(float64(time.Second) * float64(cfg.FramesPerWrite) / per)
	for i, c := range conns {
		c.t0, c.end, c.warmup = start, end, cfg.Warmup
		wg.Add(2)
		go func() { defer wg.Done(); c.read() }()
		// Terminals spread their writes over the interval instead of all writing at once.
		phase := time.Duration(float64(interval) * float64(i) / float64(len(conns)))
		go func() { defer wg.Done(); c.write(runCtx, interval, phase, cfg.FramesPerWrite) }()
	}
	if cfg.Measuring != nil {
		select {
		case <-time.After(time.Until(start.Add(cfg.Warmup))):
			cfg.Measuring()
		case <-runCtx.Done():
		}
	}
	<-runCtx.Done()
	// Outstanding acknowledgements get up to two seconds, then the connections close.
	for drain := time.Now().Add(2 * time.Second); time.Now().Before(drain); time.Sleep(20 * time.Millisecond) {
		if outstanding(conns) == 0 {
			break
		}
	}
	res.Elapsed = time.Since(start.Add(cfg.Warmup))
	for _, c := range conns {
		c.conn.Close()
	}
	wg.Wait()
	for _, c := range conns {
		res.Sent += c.nSent.Load()
		res.Writes += c.nWrites.Load()
		res.Acked += c.acked
		res.AckedInTime += c.ackedInTime
		res.Refused += c.refused
	}
	res.P50, res.P99, res.Max = hist.quantile(0.5), hist.quantile(0.99), hist.max()
	res.MeasureStart = start.Add(cfg.Warmup)
	for _, h := range secs {
		res.SecondP99, res.SecondMax = append(res.SecondP99, h.quantile(0.99)), append(res.SecondMax, h.max())
	}
	res.AckedPerSecond = float64(res.AckedInTime) / cfg.Duration.Seconds()
	return res, nil
}

func outstanding(conns []*loadConn) int {
	n := 0
	for _, c := range conns {
		c.mu.Lock()
		n += len(c.inflight)
		c.mu.Unlock()
	}
	return n
}

type loadConn struct {
	conn    net.Conn
	tpl     *frameTemplate
	t0, end time.Time
	warmup  time.Duration // writes sent before t0+warmup are acknowledged but not measured
	hist    *latencies
	secs    []*latencies // by the second after the warm-up a write was sent in
	nSent   atomic.Int64
	nWrites atomic.Int64

	mu       sync.Mutex
	inflight []sentWrite // oldest first; the gateway answers in order

	// The reader's own.
	acked, ackedInTime, refused int64
}

// sentWrite is one write of frames with consecutive serials.
type sentWrite struct {
	first uint16
	n     uint16
	at    time.Duration // since t0
}

func (c *loadConn) write(ctx context.Context, interval, phase time.Duration, frames int) {
	buf := make([]byte, 0, frames*c.tpl.maxWire())
	select {
	case <-ctx.Done():
		return
	case <-time.After(phase):
	}
	tick := time.NewTicker(max(interval, time.Millisecond))
	defer tick.Stop()
	for {
		buf = buf[:0]
		first := c.tpl.serial()
		for range frames {
			buf = c.tpl.next(buf)
		}
		c.mu.Lock()
		c.inflight = append(c.inflight, sentWrite{first: first, n: uint16(frames), at: time.Since(c.t0)})
		c.mu.Unlock()
		if _, err := c.conn.Write(buf); err != nil {
			return
		}
		c.nSent.Add(int64(frames))
		c.nWrites.Add(1)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *loadConn) read() {
	sc := jt808.NewScanner(c.conn, 4096)
	for {
		raw, err := sc.Next()
		if err != nil {
			return
		}
		f, _, err := jt808.DecodeFrame(raw)
		if err != nil || f.Header.MsgID != jt808.MsgPlatformResponse || len(f.Body) < 5 {
			continue
		}
		if f.Body[4] != jt808.ResultOK {
			c.refused++
		}
		c.ack(binary.BigEndian.Uint16(f.Body[0:2]), f.Body[4] == jt808.ResultOK)
	}
}

// ack matches a reply to the write that carried its frame and records the latency. Frames
// answered not at all (the server could not store them) are passed over.
func (c *loadConn) ack(serial uint16, ok bool) {
	now := time.Since(c.t0)
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.inflight) > 0 {
		w := &c.inflight[0]
		off := serial - w.first
		if off >= w.n {
			c.inflight = c.inflight[1:] // not answered
			continue
		}
		if ok {
			c.acked++
			if w.at >= c.warmup {
				c.hist.add(now - w.at)
				if i := int((w.at - c.warmup) / time.Second); i < len(c.secs) {
					c.secs[i].add(now - w.at)
				}
				if c.t0.Add(now).Before(c.end) {
					c.ackedInTime++
				}
			}
		}
		if off == w.n-1 {
			c.inflight = c.inflight[1:]
		} else {
			w.first, w.n = serial+1, w.n-off-1
		}
		return
	}
}

// frameTemplate is one terminal's 0x0200 frame, unescaped, patched for each fix.
type frameTemplate struct {
	b       []byte // header, body, checksum
	ser     uint16
	lonE6   uint32
	t       time.Time // device time
	sec     int       // of t, to patch only the seconds while the minute lasts
	mileage float64   // km
	items   bool
}

// Offsets in the unescaped frame (2013 header of 12 bytes).
const (
	tplSerial  = 10
	tplBody    = 12
	tplLon     = tplBody + 12
	tplTime    = tplBody + 22
	tplMileage = tplBody + jt808.LocationLen + 2
)

func newFrameTemplate(ph jt808.Phone, lat, lon float64, t time.Time, items bool) *frameTemplate {
	l := jt808.Location{Status: jt808.StatusACC | jt808.StatusPositioned | jt808.StatusGPS, Lat: lat, Lon: lon, SpeedKmh: 30, Time: t}
	if items {
		l.Items = jt808.AppendItem(l.Items, 0x01, make([]byte, 4))
		l.Items = jt808.AppendItem(l.Items, 0x30, []byte{24})
		l.Items = jt808.AppendItem(l.Items, 0x31, []byte{11})
	}
	wire, _ := jt808.AppendFrame(nil, &jt808.Header{MsgID: jt808.MsgLocation, Phone: ph}, jt808.AppendLocation(nil, &l))
	b, _ := jt808.Unescape(wire[1 : len(wire)-1])
	return &frameTemplate{b: b, lonE6: uint32(math.Round(lon * 1e6)), t: t.Add(-time.Second), sec: -1, mileage: 12000, items: items}
}

func (t *frameTemplate) serial() uint16 { return t.ser }

// maxWire bounds one escaped frame with its delimiters.
func (t *frameTemplate) maxWire() int { return 2*len(t.b) + 2 }

// next appends the wire form of the terminal's next fix: one device-second after the
// previous, about 8 m further east (a truck at 30 km/h).
func (t *frameTemplate) next(dst []byte) []byte {
	b := t.b
	binary.BigEndian.PutUint16(b[tplSerial:], t.ser)
	t.ser++
	t.lonE6 += 100
	binary.BigEndian.PutUint32(b[tplLon:], t.lonE6)
	t.t = t.t.Add(time.Second)
	if t.sec >= 0 && t.sec < 59 {
		t.sec++
		b[tplTime+5] = bcd(t.sec)
	} else {
		cst := t.t.Add(8 * time.Hour) // JT/T 808 times are GMT+8
		y, mo, d := cst.Date()
		h, mi, s := cst.Clock()
		for i, v := range [6]int{y % 100, int(mo), d, h, mi, s} {
			b[tplTime+i] = bcd(v)
		}
		t.sec = s
	}
	if t.items {
		t.mileage += 0.008
		binary.BigEndian.PutUint32(b[tplMileage:], uint32(t.mileage*10))
	}
	n := len(b) - 1
	b[n] = jt808.Checksum(b[:n])
	dst = append(dst, 0x7e)
	dst = jt808.AppendEscaped(dst, b)
	return append(dst, 0x7e)
}

func bcd(v int) byte { return byte(v/10)<<4 | byte(v%10) }

// latencies is a histogram shared by all terminals: 32 buckets per power of two of
// microseconds (3 % resolution), counted atomically.
type latencies struct {
	n    [64 * 32]atomic.Int64
	maxd atomic.Int64
}

func latencyBucket(us uint64) int {
	if us < 32 {
		return int(us)
	}
	e := bits.Len64(us) - 6 // us>>e has 6 bits: 32..63
	return (e+1)*32 + int(us>>e) - 32
}

// bucketLow is the smallest latency in µs of bucket i.
func bucketLow(i int) uint64 {
	if i < 32 {
		return uint64(i)
	}
	e := i/32 - 1
	return uint64(i%32+32) << e
}

func (h *latencies) add(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	h.n[latencyBucket(us)].Add(1)
	for {
		m := h.maxd.Load()
		if int64(d) <= m || h.maxd.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

func (h *latencies) max() time.Duration { return time.Duration(h.maxd.Load()) }

// quantile returns the lower bound of the bucket holding quantile q.
func (h *latencies) quantile(q float64) time.Duration {
	var total int64
	for i := range h.n {
		total += h.n[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i := range h.n {
		seen += h.n[i].Load()
		if seen >= rank {
			return time.Duration(bucketLow(i)) * time.Microsecond
		}
	}
	return h.max()
}
