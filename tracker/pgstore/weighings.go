package pgstore

import (
	"context"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5"
)

const weighingCols = `id, scale_id, zone_id, time, plate, card_id, gross_kg, tare_kg, net_kg, operator, vehicle_id, declaration_id, received_at`

// AddWeighing stores a weighbridge reading and returns its ID.
func (s *Store) AddWeighing(ctx context.Context, w tracker.Weighing) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO weighings(`+weighingCols[4:]+`) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id`,
		w.ScaleID, w.ZoneID, w.Time, w.Plate, w.CardID, w.GrossKg, w.TareKg, w.NetKg, w.Operator, w.VehicleID, w.DeclarationID, orNow(w.ReceivedAt)).Scan(&id)
	return id, pgErr(err)
}

func scanWeighing(r pgx.CollectableRow) (tracker.Weighing, error) {
	var w tracker.Weighing
	err := r.Scan(&w.ID, &w.ScaleID, &w.ZoneID, &w.Time, &w.Plate, &w.CardID, &w.GrossKg, &w.TareKg, &w.NetKg, &w.Operator, &w.VehicleID, &w.DeclarationID, &w.ReceivedAt)
	w.Time, w.ReceivedAt = w.Time.UTC(), w.ReceivedAt.UTC()
	return w, err
}

// Weighings lists the weighings matching q, oldest first.
func (s *Store) Weighings(ctx context.Context, q tracker.WeighingQuery) ([]tracker.Weighing, error) {
	var w where
	w.eq("vehicle_id", q.VehicleID)
	w.eq("declaration_id", q.DeclarationID)
	w.eq("scale_id", q.ScaleID)
	w.period("time", q.From, q.To)
	rows, _ := s.pool.Query(ctx, `SELECT `+weighingCols+` FROM weighings`+w.sql("time, id", q.Limit), w.args...)
	ws, err := pgx.CollectRows(rows, scanWeighing)
	return ws, pgErr(err)
}
