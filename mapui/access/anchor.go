package access

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
)

// Anchor is the audit chain's head at a moment, kept outside the database: in the anchor file
// and in the log. VerifyAudit checks the chain against the anchors, so that deleting the log's
// tail, or rewriting its history wholesale, is found.
type Anchor struct {
	Seq   int64     `json:"seq"`
	Hash  string    `json:"hash"`
	Time  time.Time `json:"time"`
	KeyID string    `json:"key_id"`
	// MAC is the audit key's HMAC of the fields above: nobody without the key can write an
	// anchor that agrees with a rewritten log.
	MAC string `json:"mac"`
}

func (a Anchor) mac(key *tracker.AuditKey) string {
	return key.MAC(fmt.Appendf(nil, "anchor\n%d\n%s\n%s\n%s", a.Seq, a.Hash, a.Time.UTC().Format(time.RFC3339Nano), a.KeyID))
}

// AnchorAudit writes the audit chain's head to the anchor file (opened for appending only,
// 0600, synced to disk) and to the log. It writes nothing for an empty log or for the head it
// anchored last.
func (s *Service) AnchorAudit(ctx context.Context) (Anchor, error) {
	au := &s.audit
	au.mu.Lock()
	defer au.mu.Unlock()
	head, err := s.store.AuditHead(ctx)
	if err != nil {
		return Anchor{}, fmt.Errorf("audit anchor: %w", err)
	}
	if head.Seq == 0 || (head.Seq == au.lastAnchor.Seq && head.Hash == au.lastAnchor.Hash) {
		return au.lastAnchor, nil
	}
	a := Anchor{Seq: head.Seq, Hash: head.Hash, Time: time.Now().UTC(), KeyID: au.key.ID()}
	a.MAC = a.mac(au.key)
	s.log.Info("audit anchor", "seq", a.Seq, "hash", a.Hash, "time", a.Time.Format(time.RFC3339Nano), "key_id", a.KeyID, "mac", a.MAC)
	if au.anchorFile != "" {
		line, _ := json.Marshal(a) // cannot fail: strings, numbers and a time
		if err := appendSynced(au.anchorFile, append(line, '\n')); err != nil {
			return a, fmt.Errorf("audit anchor: %w", err)
		}
	}
	au.lastAnchor = a
	return a, nil
}

// RunAnchors anchors the audit chain now, then every interval, and once more when ctx ends
// (at shutdown), until then.
func (s *Service) RunAnchors(ctx context.Context, every time.Duration) {
	anchor := func(ctx context.Context) {
		if _, err := s.AnchorAudit(ctx); err != nil {
			s.log.Error("audit anchor failed", "err", err)
		}
	}
	anchor(ctx)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			anchor(ctx)
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			anchor(last)
			cancel()
			return
		}
	}
}

func appendSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readAnchors reads the anchor file; a missing file has none. problem names the first line
// that is not an anchor of the Service's key; such lines are left out.
func (s *Service) readAnchors() (anchors []Anchor, problem string, err error) {
	if s.audit.anchorFile == "" {
		return nil, "", nil
	}
	b, err := os.ReadFile(s.audit.anchorFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("audit anchors: %w", err)
	}
	key := s.audit.key
	n := 0
	for line := range bytes.Lines(b) {
		n++
		var a Anchor
		why := ""
		switch {
		case json.Unmarshal(line, &a) != nil:
			why = "not an anchor (damaged)"
		case a.KeyID != key.ID():
			why = fmt.Sprintf("made with audit key %s, verifying with key %s: wrong audit key (or a forged anchor)", a.KeyID, key.ID())
		case !hmac.Equal([]byte(a.MAC), []byte(a.mac(key))):
			why = "MAC does not match (anchor forged or changed)"
		default:
			anchors = append(anchors, a)
			continue
		}
		if problem == "" {
			problem = fmt.Sprintf("anchor file %s line %d: %s", s.audit.anchorFile, n, why)
		}
	}
	return anchors, problem, nil
}
