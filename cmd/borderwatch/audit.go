package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker"
)

// defaultAnchorEvery is how often the audit chain's head is anchored unless configured: what
// was recorded since the last anchor is what a deleted tail could take unnoticed.
const defaultAnchorEvery = 10 * time.Minute

// newAccess returns access control over st with the configured audit key and anchor file.
// create lets a missing key file be created (a server's first start) while the log holds no
// keyed record yet; audit verify never creates one, since a new key could verify nothing, and
// neither does a store whose chain was keyed (a restored one, say): a new key would break it.
func newAccess(ctx context.Context, cfg config, st access.Store, log *slog.Logger, create bool) (*access.Service, error) {
	if create {
		head, err := st.AuditHead(ctx)
		if err != nil {
			return nil, err
		}
		create = head.Alg == tracker.AuditPlain
	}
	key, err := loadAuditKey(cfg, create, log)
	if err != nil {
		return nil, err
	}
	return access.New(st, access.Options{Logger: log, AuditKey: key, AnchorFile: auditAnchorFile(cfg), PasswordMaxAge: cfg.PasswordMaxAge,
		RequireTOTPAdmins: cfg.RequireTOTPAdmins}), nil
}

// auditAnchorFile is BW_AUDIT_ANCHOR_FILE or its default in the data directory.
func auditAnchorFile(cfg config) string {
	if cfg.AuditAnchorFile != "" {
		return cfg.AuditAnchorFile
	}
	return filepath.Join(cfg.DataDir, "audit-anchors.log")
}

// loadAuditKey reads the audit chain's key from BW_AUDIT_KEY (hex) or from the key file.
func loadAuditKey(cfg config, create bool, log *slog.Logger) (*tracker.AuditKey, error) {
	if cfg.AuditKey != "" {
		return parseAuditKey(cfg.AuditKey, "BW_AUDIT_KEY")
	}
	path := cfg.AuditKeyFile
	if path == "" {
		path = filepath.Join(cfg.DataDir, "audit.key")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		return createAuditKey(path, log)
	}
	if err != nil {
		return nil, fmt.Errorf("audit key: %w (set BW_AUDIT_KEY or BW_AUDIT_KEY_FILE)", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the audit key file can be read by others than its owner: chmod 600", "file", path, "mode", fi.Mode().Perm())
	}
	return parseAuditKey(string(b), path)
}

func parseAuditKey(text, where string) (*tracker.AuditKey, error) {
	secret, err := hex.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, fmt.Errorf("audit key in %s: not hex", where)
	}
	k, err := tracker.NewAuditKey(secret)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return k, nil
}

// createAuditKey writes a new random key to path, readable by its owner only.
func createAuditKey(path string, log *slog.Logger) (*tracker.AuditKey, error) {
	secret := make([]byte, 32)
	rand.Read(secret)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	_, err = fmt.Fprintln(f, hex.EncodeToString(secret))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	k, err := tracker.NewAuditKey(secret)
	if err != nil {
		return nil, err
	}
	log.Warn("created a new audit key; in production keep it on another volume than the database, or in an HSM, and back it up: without it the audit log cannot be verified",
		"file", path, "key_id", k.ID())
	return k, nil
}
