package sqlitestore

import (
	"fmt"
	"strings"
	"time"
)

// filter builds the WHERE clause of a list query from the conditions a caller set; empty
// values match everything.
type filter struct {
	conds []string
	args  []any
}

// eq adds "column = value" when value is not empty.
func (f *filter) eq(column, value string) {
	if value != "" {
		f.conds, f.args = append(f.conds, column+" = ?"), append(f.args, value)
	}
}

// in adds "column IN (values)" when values is not empty.
func (f *filter) in(column string, values []string) {
	if len(values) == 0 {
		return
	}
	f.conds = append(f.conds, column+" IN ("+strings.TrimSuffix(strings.Repeat("?,", len(values)), ",")+")")
	for _, v := range values {
		f.args = append(f.args, v)
	}
}

// period adds from <= column < to for the bounds that are set.
func (f *filter) period(column string, from, to time.Time) {
	if !from.IsZero() {
		f.conds, f.args = append(f.conds, column+" >= ?"), append(f.args, from.UnixMicro())
	}
	if !to.IsZero() {
		f.conds, f.args = append(f.conds, column+" < ?"), append(f.args, to.UnixMicro())
	}
}

// query completes base with the conditions, the order and a limit (0: none).
func (f *filter) query(base, order string, limit int) string {
	q := base
	if len(f.conds) > 0 {
		q += " WHERE " + strings.Join(f.conds, " AND ")
	}
	q += " ORDER BY " + order
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return q
}
