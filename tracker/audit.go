package tracker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// ChainHash returns the hash that links r to the record before it: the hex SHA-256 of
// r.PrevHash, a newline, and the canonical JSON of r's content (seq, time in RFC 3339 with
// nanoseconds in UTC, actor, action, object, result, detail). Every store computes it the
// same way, so `borderwatch audit verify` can check a log from either store.
func ChainHash(r AuditRecord) string {
	content := struct {
		Seq    int64           `json:"seq"`
		Time   string          `json:"time"`
		Actor  string          `json:"actor"`
		Action string          `json:"action"`
		Object string          `json:"object"`
		Result string          `json:"result"`
		Detail json.RawMessage `json:"detail,omitempty"`
	}{r.Seq, r.Time.UTC().Format(time.RFC3339Nano), r.Actor, r.Action, r.Object, r.Result, r.Detail}
	b, _ := json.Marshal(content) // cannot fail: fixed struct of strings and raw JSON validated on append
	h := sha256.New()
	h.Write([]byte(r.PrevHash))
	h.Write([]byte{'\n'})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyChain checks records in Seq order and returns the Seq of the first record whose
// link is broken, or 0 when the chain holds. prevHash is the Hash of the record before
// records[0] ("" when records[0] is the first record).
func VerifyChain(prevHash string, records []AuditRecord) int64 {
	for _, r := range records {
		if r.PrevHash != prevHash || ChainHash(r) != r.Hash {
			return r.Seq
		}
		prevHash = r.Hash
	}
	return 0
}
