package access

import (
	"context"
	"encoding/json"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// Record appends to the audit log what actor did to object and how it ended; detail, if not
// nil, is stored as JSON. A failure to audit is logged loudly but does not undo the action that
// has already happened, and the caller's cancellation does not stop the record.
func (s *Service) Record(ctx context.Context, actor, action, object, result string, detail any) {
	var raw json.RawMessage
	if detail != nil {
		raw, _ = json.Marshal(detail)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := s.store.AppendAudit(ctx, tracker.AuditRecord{Time: time.Now().UTC(), Actor: actor, Action: action, Object: object, Result: result, Detail: raw}); err != nil {
		s.log.Error("audit append failed", "action", action, "object", object, "err", err)
	}
}

// Audit returns at most limit records after the sequence number afterSeq, in order.
func (s *Service) Audit(ctx context.Context, afterSeq int64, limit int) ([]tracker.AuditRecord, error) {
	return s.store.Audit(ctx, afterSeq, limit)
}

// VerifyAudit checks the audit chain from its first record and returns how many records it
// read and the sequence number of the first broken link (0: intact). The links are
// tracker.ChainHash, which the stores compute on append.
func (s *Service) VerifyAudit(ctx context.Context) (records int64, firstBroken int64, err error) {
	var after int64
	prev := ""
	for {
		recs, err := s.store.Audit(ctx, after, 5000)
		if err != nil {
			return records, 0, err
		}
		if len(recs) == 0 {
			return records, 0, nil
		}
		for i, r := range recs {
			want := after + int64(i) + 1
			if r.Seq != want { // a deleted record leaves a gap
				return records, want, nil
			}
		}
		if b := tracker.VerifyChain(prev, recs); b != 0 {
			return records, b, nil
		}
		records += int64(len(recs))
		prev = recs[len(recs)-1].Hash
		after = recs[len(recs)-1].Seq
	}
}
