package sqlitestore

import (
	"context"

	"github.com/borderwatch/borderwatch/tracker"
)

const weighingCols = `id, scale_id, zone_id, time_us, plate, card_id, gross_kg, tare_kg, net_kg, operator, vehicle_id, declaration_id, received_us`

// AddWeighing stores a weighbridge reading and returns its ID.
func (s *Store) AddWeighing(ctx context.Context, w tracker.Weighing) (int64, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO weighings(`+weighingCols[4:]+`) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`,
		w.ScaleID, w.ZoneID, us(w.Time), w.Plate, w.CardID, w.GrossKg, w.TareKg, w.NetKg, w.Operator, w.VehicleID, w.DeclarationID, created(w.ReceivedAt))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func scanWeighing(r rowScanner) (tracker.Weighing, error) {
	var w tracker.Weighing
	var t, recv int64
	err := r.Scan(&w.ID, &w.ScaleID, &w.ZoneID, &t, &w.Plate, &w.CardID, &w.GrossKg, &w.TareKg, &w.NetKg, &w.Operator, &w.VehicleID, &w.DeclarationID, &recv)
	w.Time, w.ReceivedAt = fromUS(t), fromUS(recv)
	return w, err
}

// Weighings lists the weighings matching q, oldest first.
func (s *Store) Weighings(ctx context.Context, q tracker.WeighingQuery) ([]tracker.Weighing, error) {
	var f filter
	f.eq("vehicle_id", q.VehicleID)
	f.eq("declaration_id", q.DeclarationID)
	f.eq("scale_id", q.ScaleID)
	f.period("time_us", q.From, q.To)
	rows, err := s.r.QueryContext(ctx, f.query(`SELECT `+weighingCols+` FROM weighings`, "time_us, id", q.Limit), f.args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanWeighing)
}
