package main

import (
	"archive/tar"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

// A running server with the embedded store answers backups on a Unix socket beside its
// database (<db>.sock, 0600, in the 0700 data directory): the store is locked by the server,
// so only the server can copy it consistently. The socket admits whoever may read the data
// files anyway (the server's own user, or root), so a backup needs no password: it works for
// an administrator whose account requires a second factor, puts no credential on a command
// line, and opens nothing on the network.

const postgresBackup = "the store is PostgreSQL: back it up with pg_dump (logical) or pg_basebackup with WAL archiving (point in time), and restore with pg_restore or from the base backup; see README, Backup and restore"

// listenControl opens the backup socket at path, replacing one a killed server left (the
// store's lock says no other server runs here), and removes stale staging directories.
func listenControl(path string) (net.Listener, error) {
	stale, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".backup-*"))
	for _, d := range stale {
		os.RemoveAll(d)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// controlServer serves the backup socket.
func (a *app) controlServer() *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /backup", a.handleBackup)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ConnContext: withPeer}
}

// handleBackup copies the store into a staging directory beside it and streams the copy as a
// tar archive, the manifest last: an archive that ends early lacks it.
func (a *app) handleBackup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	actor := "local"
	if uid, ok := peerUID(ctx); ok {
		actor = fmt.Sprintf("local uid %d", uid)
		if uid != os.Getuid() && uid != 0 {
			a.access.Record(ctx, actor, "store.backup", "store", "denied", nil)
			http.Error(w, "only the server's user or root may take a backup", http.StatusForbidden)
			return
		}
	}
	if !a.backupMu.TryLock() {
		http.Error(w, "a backup is under way", http.StatusConflict)
		return
	}
	defer a.backupMu.Unlock()
	stage, err := os.MkdirTemp(filepath.Dir(a.sqlitePath), ".backup-")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer os.RemoveAll(stage)
	m, err := a.sqlite.Backup(ctx, stage)
	if err != nil {
		a.access.Record(ctx, actor, "store.backup", "store", "failed", map[string]string{"error": err.Error()})
		a.log.Error("backup failed", "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-tar")
	err = writeBackupTar(w, stage, m)
	result := "ok"
	if err != nil {
		result = "failed"
		a.log.Warn("backup not delivered", "err", err)
	}
	a.access.Record(ctx, actor, "store.backup", "store", result, backupDetail(m))
}

func backupDetail(m sqlitestore.Manifest) map[string]any {
	var size int64
	for _, f := range m.Files {
		size += f.Size
	}
	return map[string]any{"created": m.Created, "lsn": m.LSN, "files": len(m.Files), "bytes": size}
}

func writeBackupTar(w io.Writer, dir string, m sqlitestore.Manifest) error {
	tw := tar.NewWriter(w)
	names := make([]string, 0, len(m.Files)+1)
	for _, f := range m.Files {
		names = append(names, f.Name)
	}
	for _, name := range append(names, "backup.json") {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600, Size: fi.Size(), ModTime: m.Created})
		}
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		f.Close()
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// sqlitePath is the embedded store's database file; "" when the store is PostgreSQL.
func sqlitePath(cfg config) string {
	if cfg.DatabaseURL != "" && !strings.HasPrefix(cfg.DatabaseURL, "sqlite:") {
		return ""
	}
	if p := strings.TrimPrefix(cfg.DatabaseURL, "sqlite:"); p != "" {
		return p
	}
	return filepath.Join(cfg.DataDir, "borderwatch.db")
}

func backupCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, err := toolFlags("backup", stderr)
	if err != nil {
		return err
	}
	dir, path, err := storeCommandArgs(fs, cfg, args, "usage: borderwatch backup [flags] DIR (DIR new or empty)")
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no store to back up: %w", err)
	}
	if err := emptyDir(dir); err != nil {
		return err
	}
	how := "from the running server"
	m, err := backupOnline(ctx, path+".sock", dir)
	if errors.Is(err, errNoServer) {
		// No server: the command opens the store itself.
		how = "with the server stopped"
		var st *sqlitestore.Store
		log := newLogger(stderr, cfg.LogLevel)
		if st, err = sqlitestore.Open(ctx, path, sqlitestore.Options{Logger: log}); err == nil {
			if m, err = st.Backup(ctx, dir); err == nil {
				err = recordCommand(ctx, *cfg, st, log, "store.backup", nil, true)
			}
			err = errors.Join(err, st.Close())
		}
	}
	if err != nil {
		clearDir(dir)
		return fmt.Errorf("backup: %w", err)
	}
	d := backupDetail(m)
	fmt.Fprintf(stdout, "backed up %s %s into %s: %d files, %d bytes; every fix acknowledged before %s is in it\n",
		path, how, dir, d["files"], d["bytes"], m.Created.Format(time.RFC3339))
	return nil
}

// storeCommandArgs parses the command line of backup or restore: one directory, and settings
// naming an embedded store, whose database file it returns.
func storeCommandArgs(fs *flag.FlagSet, cfg *config, args []string, usage string) (dir, path string, err error) {
	if err := fs.Parse(args); err != nil {
		return "", "", err
	}
	if fs.NArg() != 1 {
		return "", "", errors.New(usage)
	}
	if path = sqlitePath(*cfg); path == "" {
		return "", "", errors.New(postgresBackup)
	}
	return fs.Arg(0), path, nil
}

var errNoServer = errors.New("no server answers on the backup socket")

// backupOnline asks the server on sock for a backup and unpacks it into dir, checked.
func backupOnline(ctx context.Context, sock, dir string) (sqlitestore.Manifest, error) {
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://borderwatch/backup", nil)
	if err != nil {
		return sqlitestore.Manifest{}, err
	}
	resp, err := client.Do(req)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		return sqlitestore.Manifest{}, errNoServer
	}
	if err != nil {
		return sqlitestore.Manifest{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return sqlitestore.Manifest{}, fmt.Errorf("the server refused: %s", strings.TrimSpace(string(msg)))
	}
	if err := untar(resp.Body, dir); err != nil {
		return sqlitestore.Manifest{}, err
	}
	return sqlitestore.VerifyBackup(dir)
}

// untar writes the regular files of an archive under dir, refusing any name that would land
// outside it; what they are is for VerifyBackup to judge.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg || !filepath.IsLocal(filepath.FromSlash(h.Name)) {
			return fmt.Errorf("backup archive: unexpected entry %q", h.Name)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

func restoreCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, err := toolFlags("restore", stderr)
	if err != nil {
		return err
	}
	force := fs.Bool("force", false, "replace the store of a data directory that is not empty")
	dir, path, err := storeCommandArgs(fs, cfg, args, "usage: borderwatch restore [--force] [flags] DIR")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if cfg.DatabaseURL == "" && !*force {
		if ents, err := os.ReadDir(cfg.DataDir); err != nil || len(ents) > 0 {
			return fmt.Errorf("data directory %s is not empty: restore into an empty one, or replace its store with --force (the server stopped)", cfg.DataDir)
		}
	}
	m, err := sqlitestore.Restore(ctx, dir, path, *force)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// Opening it replays the backup's log, as the server's start would: a backup that does
	// not open fails here, not then.
	log := newLogger(stderr, cfg.LogLevel)
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("restored store does not open: %w", err)
	}
	// The audit key is not in the backup (it is kept apart from the data): the restored chain
	// goes on only with the key it was made with, never a new one.
	err = recordCommand(ctx, *cfg, st, log, "store.restore", backupDetail(m), false)
	if err = errors.Join(err, st.Close()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored the backup of %s into %s; start the server on it\n", m.Created.Format(time.RFC3339), path)
	return nil
}

// emptyDir makes dir (0700) if it is missing, and fails if it holds anything.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err == nil && len(ents) > 0 {
		err = fmt.Errorf("%s is not empty", dir)
	}
	return err
}

// clearDir removes what a failed backup left in dir.
func clearDir(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// recordCommand appends a command's audit record, chained with the server's audit key;
// createKey lets a missing key file be made, as a server's first start would.
func recordCommand(ctx context.Context, cfg config, st access.Store, log *slog.Logger, action string, detail any, createKey bool) error {
	acc, err := newAccess(ctx, cfg, st, log, createKey)
	if err != nil {
		return err
	}
	return acc.Record(ctx, "cli", action, "store", "ok", detail)
}
