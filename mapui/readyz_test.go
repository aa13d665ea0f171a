package mapui_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/borderwatch/borderwatch/mapui"
	"github.com/borderwatch/borderwatch/mapui/access"
	"github.com/borderwatch/borderwatch/tracker/sqlitestore"
)

// TestReadyzWarnings: a warning shows on /readyz, which stays 200: the server is still ready.
func TestReadyzWarnings(t *testing.T) {
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "bw.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var warnings []string
	s := mapui.NewServer(mapui.Config{Store: st, Access: access.New(st, access.Options{}), Warnings: func() []string { return warnings }}, nil)
	get := func() (int, map[string]any) {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		return rec.Code, body
	}
	if code, body := get(); code != http.StatusOK || body["warnings"] != nil {
		t.Errorf("/readyz without warnings: %d %v", code, body)
	}
	warnings = []string{"fix log: 3 records lost"}
	code, body := get()
	if w, _ := body["warnings"].([]any); code != http.StatusOK || body["status"] != "ready" || len(w) != 1 || w[0] != warnings[0] {
		t.Errorf("/readyz with a warning: %d %v", code, body)
	}
}
