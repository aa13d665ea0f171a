package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// auditKey seals the records of these tests.
var auditKey = func() *tracker.AuditKey {
	k, err := tracker.NewAuditKey([]byte("storetest audit key, 32 bytes or more"))
	if err != nil {
		panic(err)
	}
	return k
}()

func auditRecord(i int) tracker.AuditRecord {
	r := tracker.AuditRecord{
		Time:   base.Add(time.Duration(i)*time.Second + 123456*time.Nanosecond),
		Actor:  "admin",
		Action: "vehicle.update",
		Object: fmt.Sprint("vehicles/truck-", i),
		Result: "ok",
		Addr:   fmt.Sprintf("2001:db8::%d", i),
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

// checkChain checks records read from the start of the log: Seq from 1 without gaps, each
// linked to the one before and sealed with auditKey.
func checkChain(t *testing.T, recs []tracker.AuditRecord) {
	t.Helper()
	v := tracker.NewAuditVerifier(auditKey)
	for _, r := range recs {
		if err := v.Check(r); err != nil {
			t.Fatal(err)
		}
		if r.Alg != tracker.AuditHMACSM3 || r.KeyID != auditKey.ID() {
			t.Fatalf("record %d sealed with %q, key %q", r.Seq, r.Alg, r.KeyID)
		}
	}
}

func testAudit(t *testing.T, s Store) {
	if got := readAudit(t, s, 0, 0); len(got) != 0 {
		t.Fatalf("empty store has %d audit records", len(got))
	}
	if head, err := s.AuditHead(t.Context()); err != nil || head.Seq != 0 {
		t.Fatalf("empty store's AuditHead = %+v, %v", head, err)
	}
	var appended []tracker.AuditRecord
	for i := range 6 {
		in := auditRecord(i)
		out, err := s.AppendAudit(t.Context(), in, auditKey)
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
		if r.Actor != in.Actor || r.Action != in.Action || r.Object != in.Object || r.Result != in.Result || r.Addr != in.Addr || !sameRaw(t, in.Detail, r.Detail) {
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
	v := tracker.NewAuditVerifier(auditKey)
	for _, r := range append(got[:2:2], page...) {
		if err := v.Check(r); err != nil {
			t.Errorf("page does not chain on record 2: %v", err)
		}
	}
	if rest := readAudit(t, s, 6, 10); len(rest) != 0 {
		t.Errorf("Audit after the last record returned %v", seqs(rest))
	}

	// A record without a time gets the current one.
	out, err := s.AppendAudit(t.Context(), tracker.AuditRecord{Actor: "system", Action: "start", Result: "ok"}, auditKey)
	if err != nil {
		t.Fatal(err)
	}
	if out.Time.IsZero() || out.Seq != 7 || out.PrevHash != got[5].Hash {
		t.Errorf("AppendAudit without time returned %+v", out)
	}
	checkChain(t, readAudit(t, s, 0, 0))
	if head, err := s.AuditHead(t.Context()); err != nil || head.Seq != 7 || head.Hash != out.Hash || !head.Time.Equal(out.Time) {
		t.Errorf("AuditHead = %+v, %v; want record 7 %+v", head, err, out)
	}
}

// testAuditNoKey appends without a key: refused, nothing stored.
func testAuditNoKey(t *testing.T, s Store) {
	if _, err := s.AppendAudit(t.Context(), auditRecord(0), nil); !errors.Is(err, tracker.ErrNoAuditKey) {
		t.Errorf("AppendAudit without a key: %v, want tracker.ErrNoAuditKey", err)
	}
	if got := readAudit(t, s, 0, 0); len(got) != 0 {
		t.Errorf("AppendAudit without a key stored %d records", len(got))
	}
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
				if _, err := s.AppendAudit(t.Context(), r, auditKey); err != nil {
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
