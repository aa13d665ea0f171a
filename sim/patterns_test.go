package sim

import "testing"

// TestScorePatterns: a group found whole is detected, one found with a stranger is detected
// but not correct, a group of controls is wrong; a flagged control lowers the ants' precision.
func TestScorePatterns(t *testing.T) {
	truth := &Truth{Groups: []PlantedGroup{{Members: []string{"a", "b", "c"}}}, Ants: []string{"ant"}}
	for _, c := range []struct {
		name                 string
		groups               [][]string
		ants                 []string
		gRecall, gPrec       float64
		antRecall, antPrecis float64
	}{
		{"all found", [][]string{{"a", "b", "c"}}, []string{"ant"}, 1, 1, 1, 1},
		{"part of the gang", [][]string{{"a", "b"}}, nil, 0, 1, 0, 1},
		{"with a stranger", [][]string{{"a", "b", "c", "x"}}, []string{"ant", "commuter"}, 1, 0, 1, 0.5},
		{"controls", [][]string{{"a", "b", "c"}, {"x", "y"}}, []string{"commuter"}, 1, 0.5, 0, 0},
	} {
		rows := ScorePatterns(truth, c.groups, c.ants)
		if len(rows) != 2 || rows[0].Type != PatternGroup || rows[1].Type != PatternAnts {
			t.Fatalf("%s: rows %+v", c.name, rows)
		}
		if g, a := rows[0], rows[1]; g.Recall != c.gRecall || g.Precision != c.gPrec || a.Recall != c.antRecall || a.Precision != c.antPrecis {
			t.Errorf("%s: groups %.2f/%.2f ants %.2f/%.2f, want %.2f/%.2f %.2f/%.2f", c.name, g.Recall, g.Precision, a.Recall, a.Precision,
				c.gRecall, c.gPrec, c.antRecall, c.antPrecis)
		}
	}
	if rows := ScorePatterns(&Truth{}, [][]string{{"a", "b"}}, nil); rows != nil {
		t.Errorf("no history: %+v", rows)
	}
}
