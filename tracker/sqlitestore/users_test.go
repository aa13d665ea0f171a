package sqlitestore

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsernamesCaseUpgrade: a database whose users differ only in case ("Admin", "admin") does
// not open, naming the index that refused them, until one is renamed; then it opens and keeps
// both users.
func TestUsernamesCaseUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	db := attacker(t, path)
	before := migrateBefore(t, db, "users_username_nocase")
	for _, name := range []string{"admin", "Admin"} {
		if _, err := db.Exec(`INSERT INTO users(username, role, hash, created_us) VALUES(?, 'admin', 'h', 1)`, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", before)); err != nil {
		t.Fatal(err)
	}
	if st, err := Open(t.Context(), path, Options{}); err == nil || !strings.Contains(err.Error(), "users_username_nocase") {
		if err == nil {
			st.Close()
		}
		t.Fatalf("Open with clashing names: %v, want the unique index's refusal", err)
	}
	if _, err := db.Exec(`UPDATE users SET username = 'admin-old' WHERE username = 'Admin'`); err != nil {
		t.Fatal(err)
	}
	st, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if users, err := st.Users(t.Context()); err != nil || len(users) != 2 || users[0].PasswordChangedAt.IsZero() {
		t.Errorf("after the upgrade: %+v, %v; want both users, their passwords dated", users, err)
	}
}

// migrateBefore applies the migrations before the last one that mentions marker and returns
// how many it applied; the caller sets user_version once it has written its old data.
func migrateBefore(t *testing.T, db *sql.DB, marker string) int {
	t.Helper()
	before := 0
	for i, m := range migrations {
		if strings.Contains(m, marker) {
			before = i
		}
	}
	for i, m := range migrations[:before] {
		if _, err := db.Exec(m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	return before
}
