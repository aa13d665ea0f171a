package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// ErrAuditFailed is the error of an action whose audit record could not be written: the action
// fails with it (an unaudited read returns nothing, an unaudited login opens no session).
var ErrAuditFailed = errors.New("the audit log cannot record this action")

// auditing is the Service's audit chain: its key and its anchors.
type auditing struct {
	key        *tracker.AuditKey
	anchorFile string

	mu         sync.Mutex // one anchor at a time
	lastAnchor Anchor
}

type clientAddrKey struct{}

// WithClientAddr returns ctx carrying the address of the client a request came from; Record
// puts it on every record made in ctx.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

func clientAddr(ctx context.Context) string {
	addr, _ := ctx.Value(clientAddrKey{}).(string)
	return addr
}

// Record appends to the audit log what actor did to object and how it ended, with the client's
// address from ctx (WithClientAddr); detail, if not nil, is stored as JSON. Its error wraps
// ErrAuditFailed: the caller fails the action. The caller's cancellation does not stop the
// record.
func (s *Service) Record(ctx context.Context, actor, action, object, result string, detail any) error {
	r := tracker.AuditRecord{Time: time.Now().UTC(), Actor: actor, Action: action, Object: object, Result: result, Addr: clientAddr(ctx)}
	if detail != nil {
		var err error
		if r.Detail, err = json.Marshal(detail); err != nil {
			return fmt.Errorf("%w: detail: %w", ErrAuditFailed, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := s.store.AppendAudit(ctx, r, s.audit.key); err != nil {
		// The log keeps what the audit could not: the action fails, but its trace is not lost.
		s.log.Error("audit append failed", "actor", actor, "action", action, "object", object, "result", result,
			"addr", r.Addr, "detail", string(r.Detail), "err", err)
		return fmt.Errorf("%w: %w", ErrAuditFailed, err)
	}
	return nil
}

// Audit returns at most limit records after the sequence number afterSeq, in order.
func (s *Service) Audit(ctx context.Context, afterSeq int64, limit int) ([]tracker.AuditRecord, error) {
	return s.store.Audit(ctx, afterSeq, limit)
}

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	// Records is how many records verified, from the first on, before any break.
	Records int64 `json:"records"`
	// Unkeyed is how many of them were written before the keyed chain (plain SHA-256).
	Unkeyed int64 `json:"unkeyed"`
	// KeyID names the key the chain was verified with (tracker.AuditKey.ID).
	KeyID string `json:"key_id"`
	// Anchors is how many anchors the log was checked against.
	Anchors int `json:"anchors"`
	// OK is true when the chain holds and agrees with every anchor.
	OK bool `json:"ok"`
	// FirstBroken is the first record that is missing, changed or forged; 0 when none is, or
	// when only the anchor file is damaged.
	FirstBroken int64 `json:"first_broken_seq"`
	// Problem says what is wrong, and where.
	Problem string `json:"problem,omitempty"`
}

// VerifyAudit checks the audit chain from its first record with the Service's key, and against
// the anchors: a record whose anchored hash differs has been rewritten, an anchored record
// beyond the end of the log has been deleted with the tail.
func (s *Service) VerifyAudit(ctx context.Context) (AuditReport, error) {
	rep := AuditReport{KeyID: s.audit.key.ID()}
	anchors, anchorProblem, err := s.readAnchors()
	if err != nil {
		return rep, err
	}
	rep.Anchors = len(anchors)
	anchored := map[int64][]Anchor{}
	var lastAnchor Anchor
	for _, a := range anchors {
		anchored[a.Seq] = append(anchored[a.Seq], a)
		if a.Seq > lastAnchor.Seq {
			lastAnchor = a
		}
	}
	v := tracker.NewAuditVerifier(s.audit.key)
	var matched Anchor // the last anchor found to agree with the log
	rewritten := ""
	report := func() AuditReport {
		rep.Records, rep.Unkeyed = v.Records()
		return rep
	}
	for {
		recs, err := s.store.Audit(ctx, v.Last().Seq, 5000)
		if err != nil {
			return report(), err
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if err := v.Check(r); err != nil {
				var b *tracker.AuditBreak
				errors.As(err, &b)
				rep.FirstBroken, rep.Problem = b.Seq, err.Error()
				return report(), nil
			}
			for _, a := range anchored[r.Seq] {
				switch {
				case a.Hash != r.Hash && rewritten == "":
					rep.FirstBroken = r.Seq
					rewritten = fmt.Sprintf("audit record %d differs from its anchor of %s: history rewritten at or before it", r.Seq, a.Time.Format(time.RFC3339))
					if matched.Seq > 0 {
						rewritten += fmt.Sprintf(" (after record %d, which agrees with its anchor of %s)", matched.Seq, matched.Time.Format(time.RFC3339))
					}
				case a.Hash == r.Hash:
					matched = a
				}
			}
		}
	}
	last := v.Last().Seq
	switch {
	case rewritten != "":
		rep.Problem = rewritten
	case lastAnchor.Seq > last:
		rep.FirstBroken = last + 1
		rep.Problem = fmt.Sprintf("the audit log ends at record %d, but record %d was anchored at %s: records %d to %d deleted (tail truncated)",
			last, lastAnchor.Seq, lastAnchor.Time.Format(time.RFC3339), last+1, lastAnchor.Seq)
	case anchorProblem != "":
		rep.Problem = anchorProblem
	default:
		rep.OK = true
	}
	return report(), nil
}
