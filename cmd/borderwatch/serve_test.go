package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWritePrivateFile(t *testing.T) {
	dir := t.TempDir()
	check := func(path, want string) {
		t.Helper()
		st, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want a regular file with 0600", path, st.Mode())
		}
		if b, _ := os.ReadFile(path); string(b) != want {
			t.Errorf("%s holds %q, want %q", path, b, want)
		}
	}

	t.Run("new file, missing directory", func(t *testing.T) {
		path := filepath.Join(dir, "new", adminPasswordFile)
		if err := writePrivateFile(path, "secret-1\n"); err != nil {
			t.Fatal(err)
		}
		check(path, "secret-1\n")
	})

	// A file someone left world-readable keeps no mode of its own: the new content is never
	// readable by others, not even for a moment.
	t.Run("world-readable file replaced", func(t *testing.T) {
		path := filepath.Join(dir, "readable")
		if err := os.WriteFile(path, []byte("old content that is longer\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := writePrivateFile(path, "secret-2\n"); err != nil {
			t.Fatal(err)
		}
		check(path, "secret-2\n")
	})

	// A symbolic link planted at the path does not send the password to where it points.
	t.Run("symlink replaced, its target untouched", func(t *testing.T) {
		target := filepath.Join(dir, "elsewhere")
		if err := os.WriteFile(target, []byte("not yours\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "planted")
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
		if err := writePrivateFile(path, "secret-3\n"); err != nil {
			t.Fatal(err)
		}
		check(path, "secret-3\n")
		if b, _ := os.ReadFile(target); string(b) != "not yours\n" {
			t.Errorf("the link's target was written: %q", b)
		}
	})

	t.Run("no temporary files left", func(t *testing.T) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name()[0] == '.' {
				t.Errorf("left behind: %s", e.Name())
			}
		}
	})

	t.Run("unwritable place is an error", func(t *testing.T) {
		if err := writePrivateFile(filepath.Join(dir, "readable", "below-a-file"), "x"); err == nil {
			t.Error("no error writing below a regular file")
		}
	})
}
