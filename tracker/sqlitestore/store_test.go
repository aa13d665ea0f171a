package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
	"github.com/borderwatch/borderwatch/tracker/storetest"
)

func open(tb testing.TB) storetest.Store {
	s, err := sqlitestore.Open(tb.Context(), filepath.Join(tb.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return open(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storetest.Store { return open(b) })
}

// TestMigrationsIdempotent reopens a database: migrations already applied must not run again.
func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bw.db")
	for range 2 {
		s, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Vehicles(t.Context()); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}
