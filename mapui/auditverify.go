package mapui

import (
	"context"

	"github.com/borderwatch/borderwatch/tracker"
)

// VerifyAudit checks the audit chain from its first record and returns how many records it
// read and the sequence number of the first broken link (0: intact).
func VerifyAudit(ctx context.Context, st tracker.AuditStore) (records int64, firstBroken int64, err error) {
	var after int64
	prev := ""
	for {
		recs, err := st.Audit(ctx, after, 5000)
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
