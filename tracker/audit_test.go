package tracker_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// TestAuditKeyHMACSM3 checks the keyed chain's MAC against the known answer of HMAC-SM3 in
// GM/T 0042-2015 Appendix D.3 (count 1, also in OpenSSL's evpmac_sm3.txt).
func TestAuditKeyHMACSM3(t *testing.T) {
	secret, _ := hex.DecodeString("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20")
	k, err := tracker.NewAuditKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.Repeat("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 2)
	if got, want := k.MAC([]byte(msg)), "ca05e144ed05d1857840d1f318a4a8669e559fc8391f414485bfdf7bb408963a"; got != want {
		t.Errorf("HMAC-SM3 = %s, want %s", got, want)
	}
	if _, err := tracker.NewAuditKey(secret[:31]); err == nil {
		t.Error("a 31-byte key was accepted")
	}
}

func testKey(t *testing.T, fill byte) *tracker.AuditKey {
	t.Helper()
	k, err := tracker.NewAuditKey(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// chain appends n records to prev as a store does: plain (key nil) or sealed with key.
func chain(prev []tracker.AuditRecord, n int, key *tracker.AuditKey) []tracker.AuditRecord {
	out := append([]tracker.AuditRecord(nil), prev...)
	for range n {
		r := tracker.AuditRecord{Time: time.Date(2025, 3, 1, 8, len(out), 0, 0, time.UTC), Actor: "admin", Action: "vehicle.update",
			Object: "vehicle:v1", Result: "ok", Detail: json.RawMessage(`{"n":1}`), Seq: int64(len(out) + 1)}
		if len(out) > 0 {
			r.PrevHash = out[len(out)-1].Hash
		}
		if key == nil {
			r.Hash = tracker.PlainChainHash(r)
		} else {
			r.Addr = "192.0.2.7"
			r = key.Seal(r)
		}
		out = append(out, r)
	}
	return out
}

// verify returns the first break of recs, nil if they hold.
func verify(key *tracker.AuditKey, recs []tracker.AuditRecord) *tracker.AuditBreak {
	v := tracker.NewAuditVerifier(key)
	for _, r := range recs {
		if err := v.Check(r); err != nil {
			var b *tracker.AuditBreak
			errors.As(err, &b)
			return b
		}
	}
	return nil
}

// TestAuditVerifier performs the attacks on a chain that has plain records from before the
// upgrade and keyed ones after it; the attacker has the database, not the key.
func TestAuditVerifier(t *testing.T) {
	key := testKey(t, 7)
	log := chain(chain(nil, 3, nil), 4, key) // records 1–3 plain, 4–7 keyed
	if b := verify(key, log); b != nil {
		t.Fatalf("intact log: %v", b)
	}
	v := tracker.NewAuditVerifier(key)
	for _, r := range log {
		v.Check(r)
	}
	if all, plain := v.Records(); all != 7 || plain != 3 || v.Last().Seq != 7 {
		t.Errorf("Records = %d, %d; Last %d", all, plain, v.Last().Seq)
	}

	// rehash recomputes the plain hashes of recs[from:to] as an attacker can, each linked to the one before.
	rehash := func(recs []tracker.AuditRecord, from, to int) {
		for i := from; i < to; i++ {
			if i > 0 {
				recs[i].PrevHash = recs[i-1].Hash
			}
			recs[i].Hash = tracker.PlainChainHash(recs[i])
		}
	}
	for _, tc := range []struct {
		name   string
		attack func(recs []tracker.AuditRecord) []tracker.AuditRecord
		seq    int64
		reason string
	}{
		{"keyed record changed", func(recs []tracker.AuditRecord) []tracker.AuditRecord {
			recs[4].Actor = "mallory"
			return recs
		}, 5, "HMAC does not match"},
		{"address changed", func(recs []tracker.AuditRecord) []tracker.AuditRecord {
			recs[5].Addr = "198.51.100.1"
			return recs
		}, 6, "HMAC does not match"},
		{"keyed record rehashed with SHA-256, the rest relinked", func(recs []tracker.AuditRecord) []tracker.AuditRecord {
			recs[4].Result = "denied"
			rehash(recs, 4, len(recs))
			return recs
		}, 5, "HMAC does not match"},
		{"downgraded to plain from a keyed record on", func(recs []tracker.AuditRecord) []tracker.AuditRecord {
			for i := 4; i < len(recs); i++ {
				recs[i].Alg, recs[i].KeyID = "", ""
			}
			rehash(recs, 4, len(recs))
			return recs
		}, 5, "unkeyed record after keyed ones"},
		{"old plain record changed and the chain relinked", func(recs []tracker.AuditRecord) []tracker.AuditRecord {
			recs[1].Actor = "mallory"
			rehash(recs, 1, 3)
			return recs
		}, 4, "does not link"}, // plain records cannot hold; the first keyed record pins them
		{"record deleted", func(recs []tracker.AuditRecord) []tracker.AuditRecord {
			return append(recs[:2], recs[3:]...)
		}, 3, "missing"},
		{"first record deleted", func(recs []tracker.AuditRecord) []tracker.AuditRecord { return recs[1:] }, 1, "missing"},
		{"another key", func(recs []tracker.AuditRecord) []tracker.AuditRecord {
			return chain(recs[:4], 3, testKey(t, 8))
		}, 5, "wrong audit key"},
		{"unknown algorithm", func(recs []tracker.AuditRecord) []tracker.AuditRecord {
			recs[6].Alg = "none"
			return recs
		}, 7, "unknown chain algorithm"},
	} {
		b := verify(key, tc.attack(append([]tracker.AuditRecord(nil), log...)))
		if b == nil || b.Seq != tc.seq || !strings.Contains(b.Reason, tc.reason) {
			t.Errorf("%s: break %v, want record %d: %s", tc.name, b, tc.seq, tc.reason)
		}
	}

	if b := verify(testKey(t, 9), log); b == nil || b.Seq != 4 || !strings.Contains(b.Reason, "wrong audit key") {
		t.Errorf("verified with the wrong key: %v", b)
	}
	if b := verify(nil, log); b == nil || b.Seq != 4 || !strings.Contains(b.Reason, "no audit key") {
		t.Errorf("verified without a key: %v", b)
	}
}
