package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
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
	Duration      time.Duration
	Protocol      string // "jt808" (the only one for now); empty: jt808
	PhoneBase     uint64 // first terminal's phone number; 0: 14000000000
}

// LoadResult is what a load run measured.
type LoadResult struct {
	Sent, Acked     int64
	Refused         int64 // 0x8001 with a result other than OK
	Elapsed         time.Duration
	AckedPerSecond  float64
	P50, P99, Max   time.Duration // send to 0x8001
	ConnectFailures int
}

func (r LoadResult) String() string {
	return fmt.Sprintf("sent %d, acked %d (%.0f/s), refused %d, ack latency p50 %v p99 %v max %v, connect failures %d",
		r.Sent, r.Acked, r.AckedPerSecond, r.Refused, r.P50, r.P99, r.Max, r.ConnectFailures)
}

// Load drives a JT/T 808 gateway with many terminals over real TCP at an aggregate rate and
// measures acknowledgement latency. Terminals send 0x0200 without registering: the server
// must accept unknown devices or know them.
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
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.PhoneBase == 0 {
		cfg.PhoneBase = 14000000000
	}
	var res LoadResult
	var conns []*loadConn
	var d net.Dialer
	for i := 0; i < cfg.Terminals; i++ {
		c, err := d.DialContext(ctx, "tcp", cfg.Addr)
		if err != nil {
			res.ConnectFailures++
			continue
		}
		ph, _ := jt808.ParsePhone(fmt.Sprint(cfg.PhoneBase+uint64(i)), false)
		conns = append(conns, &loadConn{conn: c, phone: ph, sent: make([]int64, 1<<16), lat: 42 + float64(i%1000)/1000, lon: 107})
	}
	if len(conns) == 0 {
		return res, errors.New("sim: load: no terminal could connect")
	}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	per := float64(cfg.RatePerSecond) / float64(len(conns))
	for i, c := range conns {
		c.t0 = start
		c.phase = float64(i) / float64(len(conns))
		wg.Add(2)
		go func() { defer wg.Done(); c.read() }()
		go func() { defer wg.Done(); c.write(runCtx, per, cfg.Duration) }()
	}
	<-runCtx.Done()
	// Give outstanding acknowledgements a moment, then close.
	time.Sleep(500 * time.Millisecond)
	res.Elapsed = time.Since(start)
	for _, c := range conns {
		c.conn.Close()
	}
	wg.Wait()
	var lats []time.Duration
	for _, c := range conns {
		res.Sent += c.nSent.Load()
		res.Acked += c.acked
		res.Refused += c.refused
		lats = append(lats, c.lats...)
	}
	slices.Sort(lats)
	if n := len(lats); n > 0 {
		res.P50, res.P99, res.Max = lats[n/2], lats[n*99/100], lats[n-1]
	}
	res.AckedPerSecond = float64(res.Acked) / cfg.Duration.Seconds()
	return res, nil
}

type loadConn struct {
	conn     net.Conn
	phone    jt808.Phone
	lat, lon float64
	sent     []int64 // by serial: send time in ns since t0, +1 (0: none)
	t0       time.Time
	nSent    atomic.Int64
	acked    int64
	refused  int64
	lats     []time.Duration
	phase    float64 // of the send interval: terminals spread their sends instead of all sending at once
}

// loadBatch frames go out in one write: a busy terminal pipelines.
const loadBatch = 16

// write sends fixes at perSecond. Each fix is one device-second after the previous one,
// starting far enough in the past that the device clock never passes the present: a real
// terminal reports each second at most once, and the server stores one fix per device and time.
func (c *loadConn) write(ctx context.Context, perSecond float64, d time.Duration) {
	interval := time.Duration(float64(time.Second) * loadBatch / perSecond)
	body := make([]byte, 0, 64)
	buf := make([]byte, 0, 64*loadBatch)
	var serial uint16
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Duration(c.phase * float64(interval))):
	}
	tick := time.NewTicker(max(interval, time.Millisecond))
	defer tick.Stop()
	h := jt808.Header{MsgID: jt808.MsgLocation, Phone: c.phone}
	loc := jt808.Location{Status: jt808.StatusACC | jt808.StatusPositioned, Lat: c.lat, Lon: c.lon, SpeedKmh: 60}
	devTime := time.Now().Add(-time.Duration(perSecond*d.Seconds()+60) * time.Second).Truncate(time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		buf = buf[:0]
		now := time.Now()
		for range loadBatch {
			devTime = devTime.Add(time.Second)
			loc.Time = devTime
			loc.Lon += 0.0001 // ~8 m a second: a truck at 30 km/h
			serial++
			h.Serial = serial
			body = jt808.AppendLocation(body[:0], &loc)
			buf, _ = jt808.AppendFrame(buf, &h, body)
			atomic.StoreInt64(&c.sent[serial], int64(now.Sub(c.t0))+1)
		}
		if _, err := c.conn.Write(buf); err != nil {
			return
		}
		c.nSent.Add(loadBatch)
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
		serial := binary.BigEndian.Uint16(f.Body[0:2])
		if f.Body[4] != jt808.ResultOK {
			c.refused++
			continue
		}
		if s := atomic.SwapInt64(&c.sent[serial], 0); s > 0 {
			c.lats = append(c.lats, time.Since(c.t0)-time.Duration(s-1))
		}
		c.acked++
	}
}
