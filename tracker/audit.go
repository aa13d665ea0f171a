package tracker

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// The audit chain's algorithms, as AuditRecord.Alg names them.
const (
	// AuditPlain is the chain of records written before the keyed chain: a SHA-256 anyone with
	// the database can recompute (PlainChainHash). Such records verify only before the first
	// keyed record.
	AuditPlain = ""
	// AuditHMACSM3 is HMAC (RFC 2104) over SM3, China's national hash (GB/T 32905), keyed with
	// an AuditKey kept outside the database: who can write the database cannot forge a record.
	AuditHMACSM3 = "hmac-sm3"
)

// ErrNoAuditKey refuses to append to the audit log without a key to seal the record.
var ErrNoAuditKey = errors.New("no audit key")

// MinAuditKeyLen is the shortest audit key accepted: SM3's output size.
const MinAuditKeyLen = sm3.Size

// AuditKey is the secret that seals the audit chain. It is kept outside the database (a file on
// another volume, an environment variable filled from a secret store or an HSM) so that
// someone who can rewrite the database cannot recompute the chain.
type AuditKey struct {
	secret []byte
	id     string
}

// NewAuditKey returns the key of secret, which must be at least MinAuditKeyLen bytes.
func NewAuditKey(secret []byte) (*AuditKey, error) {
	if len(secret) < MinAuditKeyLen {
		return nil, fmt.Errorf("audit key has %d bytes, want at least %d", len(secret), MinAuditKeyLen)
	}
	k := &AuditKey{secret: append([]byte(nil), secret...)}
	k.id = k.MAC([]byte("borderwatch audit key id"))[:16]
	return k, nil
}

// NewRandomAuditKey returns a new random key of MinAuditKeyLen bytes.
func NewRandomAuditKey() *AuditKey {
	secret := make([]byte, MinAuditKeyLen)
	rand.Read(secret)
	k, _ := NewAuditKey(secret)
	return k
}

// ID names the key without revealing it, so that a verification with the wrong key says so.
func (k *AuditKey) ID() string { return k.id }

// MAC returns the hex HMAC-SM3 of msg under the key.
func (k *AuditKey) MAC(msg []byte) string {
	m := hmac.New(sm3.New, k.secret)
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// Seal links r to the record before it: r.Seq, r.PrevHash and r.Time must be final (the time
// as the store keeps it). It sets Alg, KeyID and Hash, the HMAC-SM3 of PrevHash, a newline and
// the canonical JSON of the record's content (see canonical).
func (k *AuditKey) Seal(r AuditRecord) AuditRecord {
	r.Alg, r.KeyID = AuditHMACSM3, k.id
	r.Hash = chainSum(hmac.New(sm3.New, k.secret), r)
	return r
}

// PlainChainHash is the hash of the records written before the keyed chain (Alg AuditPlain): the
// hex SHA-256 of PrevHash, a newline and the canonical JSON of the content without address,
// algorithm and key.
func PlainChainHash(r AuditRecord) string {
	r.Addr, r.Alg, r.KeyID = "", "", ""
	return chainSum(sha256.New(), r)
}

func chainSum(h hash.Hash, r AuditRecord) string {
	h.Write([]byte(r.PrevHash))
	h.Write([]byte{'\n'})
	h.Write(canonical(r))
	return hex.EncodeToString(h.Sum(nil))
}

// canonical is the JSON of r's content that the chain hashes: seq, time in RFC 3339 with
// nanoseconds in UTC, actor, action, object, result, detail, and for keyed records address,
// algorithm and key. Plain records leave the last three out, as they were hashed before them.
func canonical(r AuditRecord) []byte {
	content := struct {
		Seq    int64           `json:"seq"`
		Time   string          `json:"time"`
		Actor  string          `json:"actor"`
		Action string          `json:"action"`
		Object string          `json:"object"`
		Result string          `json:"result"`
		Detail json.RawMessage `json:"detail,omitempty"`
		Addr   string          `json:"addr,omitempty"`
		Alg    string          `json:"alg,omitempty"`
		KeyID  string          `json:"key_id,omitempty"`
	}{r.Seq, r.Time.UTC().Format(time.RFC3339Nano), r.Actor, r.Action, r.Object, r.Result, r.Detail, r.Addr, r.Alg, r.KeyID}
	b, err := json.Marshal(content)
	if err != nil { // only an invalid Detail, which the stores refuse on append
		b = fmt.Appendf(nil, "invalid detail: %q", r.Detail)
	}
	return b
}

// AuditBreak says where the audit chain does not hold and why.
type AuditBreak struct {
	Seq    int64
	Reason string
}

func (b *AuditBreak) Error() string { return fmt.Sprintf("audit record %d: %s", b.Seq, b.Reason) }

// AuditVerifier checks an audit log from its first record, one record at a time in Seq order.
// Records must follow each other without gaps, each must link to the one before, keyed records
// must carry key's HMAC, and no plain record may follow a keyed one (that would be a forgery
// made without the key).
type AuditVerifier struct {
	key   *AuditKey
	last  AuditRecord
	n     int64
	plain int64
}

// NewAuditVerifier returns a verifier with key; a nil key verifies plain records only.
func NewAuditVerifier(key *AuditKey) *AuditVerifier { return &AuditVerifier{key: key} }

// Check verifies the next record. Its error is an *AuditBreak.
func (v *AuditVerifier) Check(r AuditRecord) error {
	if want := v.last.Seq + 1; r.Seq != want {
		if r.Seq > want {
			return &AuditBreak{want, fmt.Sprintf("missing: the log goes from record %d to %d (records deleted)", v.last.Seq, r.Seq)}
		}
		return &AuditBreak{r.Seq, fmt.Sprintf("out of order after record %d", v.last.Seq)}
	}
	if r.PrevHash != v.last.Hash {
		return &AuditBreak{r.Seq, "does not link to the record before it (prev_hash differs from its hash)"}
	}
	switch r.Alg {
	case AuditPlain:
		if v.last.Alg != AuditPlain {
			return &AuditBreak{r.Seq, "unkeyed record after keyed ones: written without the audit key (forged)"}
		}
		if PlainChainHash(r) != r.Hash {
			return &AuditBreak{r.Seq, "hash does not match the content (record changed)"}
		}
		v.plain++
	case AuditHMACSM3:
		switch {
		case v.key == nil:
			return &AuditBreak{r.Seq, "keyed record, and no audit key to verify it with"}
		case r.KeyID != v.key.ID():
			return &AuditBreak{r.Seq, fmt.Sprintf("sealed with audit key %s, verifying with key %s: wrong audit key (or a forged record)", r.KeyID, v.key.ID())}
		case !hmac.Equal([]byte(v.key.Seal(r).Hash), []byte(r.Hash)):
			return &AuditBreak{r.Seq, "HMAC does not match the content (record changed)"}
		}
	default:
		return &AuditBreak{r.Seq, fmt.Sprintf("unknown chain algorithm %q", r.Alg)}
	}
	v.last = r
	v.n++
	return nil
}

// Records is how many records have verified; Plain how many of them are unkeyed.
func (v *AuditVerifier) Records() (all, plain int64) { return v.n, v.plain }

// Last is the last record that verified (zero before the first).
func (v *AuditVerifier) Last() AuditRecord { return v.last }
