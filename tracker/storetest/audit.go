package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

func auditRecord(i int) tracker.AuditRecord {
	r := tracker.AuditRecord{
		Time:   base.Add(time.Duration(i)*time.Second + 123456*time.Nanosecond),
		Actor:  "admin",
		Action: "vehicle.update",
		Object: fmt.Sprint("vehicles/truck-", i),
		Result: "ok",
	}
	if i%2 == 0 {
		// Key order and spacing a JSON column might change.
		r.Detail = json.RawMessage(fmt.Sprintf(`{"plate": "蒙H·%05d", "a": [1, 2.5, true], "n": %d}`, i, i))
	}
	return r
}

func readAudit(t *testing.T, s Store, after int64, limit int) []tracker.AuditRecord {
	t.Helper()
	got, err := s.Audit(t.Context(), after, limit)
	if err != nil {
		t.Fatalf("Audit(%d, %d): %v", after, limit, err)
	}
	return got
}

// checkChain checks records read from the start of the log.
func checkChain(t *testing.T, recs []tracker.AuditRecord) {
	t.Helper()
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has Seq %d, want %d", i, r.Seq, i+1)
		}
	}
	if seq := tracker.VerifyChain("", recs); seq != 0 {
		t.Fatalf("audit chain broken at Seq %d", seq)
	}
}

func testAudit(t *testing.T, s Store) {
	if got := readAudit(t, s, 0, 0); len(got) != 0 {
		t.Fatalf("empty store has %d audit records", len(got))
	}
	var appended []tracker.AuditRecord
	for i := range 6 {
		in := auditRecord(i)
		out, err := s.AppendAudit(t.Context(), in)
		if err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		if out.Seq != int64(i+1) || out.Hash == "" || out.Actor != in.Actor || out.Object != in.Object {
			t.Errorf("AppendAudit returned %+v", out)
		}
		appended = append(appended, out)
	}
	got := readAudit(t, s, 0, 0)
	if len(got) != 6 {
		t.Fatalf("Audit returned %d records, want 6", len(got))
	}
	checkChain(t, got)
	if got[0].PrevHash != "" {
		t.Errorf("first record's PrevHash = %q, want empty", got[0].PrevHash)
	}
	for i, r := range got {
		in := auditRecord(i)
		a := appended[i]
		if r.Hash != a.Hash || r.PrevHash != a.PrevHash || !r.Time.Equal(a.Time) {
			t.Errorf("record %d read back as %+v, appended as %+v", r.Seq, r, a)
		}
		if r.Actor != in.Actor || r.Action != in.Action || r.Object != in.Object || r.Result != in.Result || !sameRaw(t, in.Detail, r.Detail) {
			t.Errorf("record %d = %+v, want %+v", r.Seq, r, in)
		}
		if r.Time.Location() != time.UTC || r.Time.Sub(in.Time).Abs() >= time.Microsecond {
			t.Errorf("record %d time = %v, want %v in UTC", r.Seq, r.Time, in.Time)
		}
	}

	page := readAudit(t, s, 2, 3)
	if len(page) != 3 || page[0].Seq != 3 || page[2].Seq != 5 {
		t.Errorf("Audit(2, 3) returned Seqs %v, want 3..5", seqs(page))
	}
	if seq := tracker.VerifyChain(got[1].Hash, page); seq != 0 {
		t.Errorf("page does not chain on record 2: broken at %d", seq)
	}
	if rest := readAudit(t, s, 6, 10); len(rest) != 0 {
		t.Errorf("Audit after the last record returned %v", seqs(rest))
	}

	// A record without a time gets the current one.
	out, err := s.AppendAudit(t.Context(), tracker.AuditRecord{Actor: "system", Action: "start", Result: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Time.IsZero() || out.Seq != 7 || out.PrevHash != got[5].Hash {
		t.Errorf("AppendAudit without time returned %+v", out)
	}
	checkChain(t, readAudit(t, s, 0, 0))
}

func seqs(recs []tracker.AuditRecord) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

func testAuditConcurrent(t *testing.T, s Store) {
	const workers, each = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r := auditRecord(w*each + i)
				r.Actor = fmt.Sprint("user", w)
				if _, err := s.AppendAudit(t.Context(), r); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent AppendAudit: %v", err)
	}
	got := readAudit(t, s, 0, 0)
	if len(got) != workers*each {
		t.Fatalf("Audit returned %d records, want %d", len(got), workers*each)
	}
	checkChain(t, got)
}
