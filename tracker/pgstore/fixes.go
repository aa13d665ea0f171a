package pgstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const fixCols = `id, vehicle_id, device_id, protocol, device_time, received_at, lat, lon, speed_kmh, heading, altitude_m, valid, late, flags, attrs`

// latestSet is what an upsert of latest_fixes sets: a report older than the stored one is not
// the vehicle's position.
const latestSet = `DO UPDATE SET
	id = excluded.id, device_id = excluded.device_id, protocol = excluded.protocol, device_time = excluded.device_time,
	received_at = excluded.received_at, lat = excluded.lat, lon = excluded.lon, speed_kmh = excluded.speed_kmh,
	heading = excluded.heading, altitude_m = excluded.altitude_m, valid = excluded.valid, late = excluded.late,
	flags = excluded.flags, attrs = excluded.attrs
	WHERE latest_fixes.device_time <= excluded.device_time`

// upsertLatest makes the fixes of ins their vehicles' latest where they are newer; a
// conflicting report, or one from ahead of the server clock, is evidence, never the vehicle's
// position.
const upsertLatest = `latest AS (
	INSERT INTO latest_fixes (` + fixCols + `)
	SELECT DISTINCT ON (vehicle_id) ` + fixCols + ` FROM ins WHERE flags IS NULL OR NOT (flags && ARRAY['` + tracker.FlagConflict + `', '` + tracker.FlagClockAhead + `'])
	ORDER BY vehicle_id, device_time DESC, id DESC
	ON CONFLICT (vehicle_id) ` + latestSet + `
)`

// fixArrays is a batch passed as one array per column (fixColumns' arguments), and fixSource
// the columns of fixCols taken from it. Flags travel as JSON arrays because SQL arrays of arrays
// must be rectangular.
const (
	fixArrays = `unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::float8[], $7::float8[],
		$8::float8[], $9::float8[], $10::float8[], $11::bool[], $12::bool[], $13::jsonb[], $14::jsonb[], $15::int8[])`
	fixSource = `i, v, d, p, t, r, la, lo, sp, h, al, va, l, CASE WHEN fl IS NOT NULL THEN ARRAY(SELECT jsonb_array_elements_text(fl)) END, at`
)

// upsertLatestOf makes the fixes passed, the newest of each vehicle in a batch in vehicle order
// (newestByVehicle), their vehicles' latest where they are newer.
const upsertLatestOf = `INSERT INTO latest_fixes (` + fixCols + `)
	SELECT ` + fixSource + ` FROM ` + fixArrays + ` AS u(v, d, p, t, r, la, lo, sp, h, al, va, l, fl, at, i)
	ON CONFLICT (vehicle_id) ` + latestSet

// insertFixes inserts a batch (fixArrays, with reserved IDs) as the first reports of their
// device times (variant 0), skipping those already taken, keeps latest_fixes current and
// returns the new fixes' keys and IDs, all in one round trip.
const insertFixes = `WITH ins AS (
	INSERT INTO fixes (` + fixCols + `)
	SELECT ` + fixSource + `
	FROM ` + fixArrays + ` WITH ORDINALITY AS u(v, d, p, t, r, la, lo, sp, h, al, va, l, fl, at, i, ord)
	ORDER BY ord
	ON CONFLICT (device_id, device_time, variant) DO NOTHING
	RETURNING ` + fixCols + `
), ` + upsertLatest + `
SELECT id, device_id, device_time FROM ins`

// insertVariant inserts one report of a device time already stored, as the given variant.
const insertVariant = `WITH ins AS (
	INSERT INTO fixes (vehicle_id, device_id, protocol, device_time, received_at, lat, lon, speed_kmh, heading, altitude_m, valid, late, flags, attrs, variant)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
	RETURNING ` + fixCols + `
), ` + upsertLatest + `
SELECT id FROM ins`

// insertEvent takes the next ID, or the one given ($10, reserved for a share of a group commit).
const insertEvent = `INSERT INTO events (id, type, time, vehicle_id, zone_id, lat, lon, fix_id, late, attrs)
VALUES (COALESCE($10::bigint, nextval('events_id_seq')), $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`

// upsertAlert adds an alert or updates the unresolved one with its DedupKey: the incident's
// first time, its status and who handled it are kept; what the rule knows now replaces the rest.
const upsertAlert = `INSERT INTO alerts (type, severity, status, vehicle_id, time, updated_at, zone_id, declaration_id, late, lat, lon, message, dedup_key, active, evidence)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (dedup_key) WHERE status <> 'resolved' AND dedup_key <> '' DO UPDATE SET
	type = excluded.type, severity = excluded.severity, updated_at = excluded.updated_at,
	zone_id = COALESCE(excluded.zone_id, alerts.zone_id), declaration_id = COALESCE(excluded.declaration_id, alerts.declaration_id),
	late = excluded.late, lat = excluded.lat, lon = excluded.lon, message = excluded.message,
	active = excluded.active, evidence = excluded.evidence
RETURNING id`

type fixKey struct {
	device string
	us     int64
}

// Commit stores the batch in one transaction.
func (s *Store) Commit(ctx context.Context, b *tracker.Batch) error {
	eventFixes, err := b.EventFixes()
	if err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	if err := s.ensurePartitions(ctx, b.Fixes); err != nil {
		return err
	}
	if encodedRows(b) == nil { // encoded ahead, they were valid (EncodeFix)
		validFixText(b.Fixes)
	}
	validOutputText(b.Events, b.Alerts)
	fixIDs := make([]int64, len(b.Fixes))
	dups := make([]bool, len(b.Fixes))
	eventIDs := make([]int64, len(b.Events))
	alertIDs := make([]int64, len(b.Alerts))
	for attempt := 0; ; attempt++ {
		// A retry goes to one connection: whatever made the shares fail (a lock held by
		// another server, say) cannot then hold one share at the barrier behind another.
		var shares []*share
		if attempt == 0 {
			shares = s.split(b, eventFixes)
		}
		if shares != nil {
			err = s.commitShares(ctx, shares, fixIDs, dups, eventIDs, alertIDs)
		} else {
			err = s.commitOnce(ctx, b, eventFixes, fixIDs, dups, eventIDs, alertIDs)
		}
		if err == nil || attempt == 2 || !retryable(err) {
			break
		}
		if isNoPartition(err) { // another server's retention dropped a day we thought existed
			s.forgetPartitions()
			if err := s.ensurePartitions(ctx, b.Fixes); err != nil {
				return err
			}
		}
	}
	if err != nil {
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	b.Duplicates = append(b.Duplicates[:0], dups...)
	for i := range b.Fixes {
		b.Fixes[i].ID = fixIDs[i]
	}
	for i := range b.Events {
		b.Events[i].ID = eventIDs[i]
		if k := eventFixes[i]; k >= 0 {
			b.Events[i].FixID = fixIDs[k]
		}
	}
	for i := range b.Alerts {
		b.Alerts[i].ID = alertIDs[i]
		if b.Alerts[i].Status == "" {
			b.Alerts[i].Status = tracker.StatusOpen
		}
	}
	return nil
}

// querier is what a commit's statements run on: one connection, inside the transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	PgConn() *pgconn.PgConn
}

// commitOnce makes one attempt at committing b in one transaction. Its fixes' IDs are reserved
// beforehand (see idStock), so that the whole transaction goes in two round trips: BEGIN and
// the fixes copied in as new (copyNewFixes); then the newest of each vehicle upserted into
// latest_fixes, the events, the alerts, COMMIT. Should a device time be taken already (a
// resent fix the pipeline no longer knew, after a restart say, or the same report twice in the
// batch), that fails; the transaction is rolled back and made again the way that sorts
// duplicates from variants, in two round trips or more (storeFixes), and the next
// slowAfterTaken commits go that way at once. Any failure rolls back.
func (s *Store) commitOnce(ctx context.Context, b *tracker.Batch, eventFixes []int, fixIDs []int64, dups []bool, eventIDs, alertIDs []int64) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection released inside a transaction (the ROLLBACK failed too) is closed by the pool.
	defer conn.Release()
	plan := &txPlan{}
	var generation uint64
	if plan.newFixIDs, plan.refill, generation, err = s.ids.take(ctx, conn, len(b.Fixes)); err != nil {
		return err
	}
	slow := s.slow.Load()
	plan.fast = len(b.Fixes) > 0 && slow <= 0
	if slow > 0 {
		s.slow.CompareAndSwap(slow, slow-1) // lost to a concurrent commit: it counted
	}
	err = commitTx(ctx, conn.Conn(), b, eventFixes, fixIDs, dups, eventIDs, alertIDs, plan, nil)
	if plan.refill > 0 {
		s.ids.put(plan.refilled, generation)
	}
	if errors.Is(err, errTaken) {
		if _, err = conn.Exec(ctx, "ROLLBACK"); err != nil {
			return err
		}
		s.slow.Store(slowAfterTaken)
		plan = &txPlan{newFixIDs: plan.newFixIDs}
		err = commitTx(ctx, conn.Conn(), b, eventFixes, fixIDs, dups, eventIDs, alertIDs, plan, nil)
	}
	if err != nil && conn.Conn().PgConn().TxStatus() != 'I' {
		conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	return err
}

// slowAfterTaken is how many commits after one that found a device time taken sort their
// fixes at once: resent fixes come in runs, after a restart or a store outage.
const slowAfterTaken = 32

// errTaken is a fast transaction's failure (txPlan.fast): a device time of the batch is taken.
var errTaken = errors.New("a device time of the batch is taken")

// txPlan is how a transaction writes a batch's fixes.
type txPlan struct {
	newFixIDs []int64 // reserved, one per fix of the batch, in its order
	// fast: the fixes are inserted as new (copyNewFixes); a device time taken fails the
	// transaction with errTaken.
	fast     bool
	refill   int         // blocks of fix IDs to reserve for later batches, in the same round trip
	refilled reservedIDs // what refill reserved
}

// commitTx writes b in a transaction it begins and commits on q; eventFixes are b.EventFixes().
// With a barrier (b is a share of a group commit), COMMIT waits until every share has done its
// work, and is not sent if one failed.
func commitTx(ctx context.Context, q querier, b *tracker.Batch, eventFixes []int, fixIDs []int64, dups []bool, eventIDs, alertIDs []int64, plan *txPlan, stx *shareTx) error {
	var batch pgx.Batch
	begun := len(b.Fixes) > 0 // with the fixes, in their own round trip
	switch {
	case plan.fast:
		if err := copyNewFixes(ctx, q, b.Fixes, encodedRows(b), plan.newFixIDs, stx); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%w: %w", errTaken, err)
			}
			return err
		}
		copy(fixIDs, plan.newFixIDs)
		clear(dups)
		newest, err := fixColumns(b.Fixes, plan.newFixIDs, newestByVehicle(b.Fixes), nil)
		if err != nil {
			return err
		}
		batch.Queue(upsertLatestOf, newest...)
	case begun:
		if err := storeFixes(ctx, q, b.Fixes, plan.newFixIDs, fixIDs, dups, stx); err != nil {
			return err
		}
	default:
		queueBegin(&batch, stx)
	}
	var queued []int // events queued, by index: those of duplicate fixes are not
	for i, e := range b.Events {
		fixID := e.FixID
		if k := eventFixes[i]; k >= 0 {
			if dups[k] {
				eventIDs[i] = 0
				continue
			}
			fixID = fixIDs[k]
		}
		queued = append(queued, i)
		batch.Queue(insertEvent, e.Type, e.Time, e.VehicleID, e.ZoneID, e.Lat, e.Lon, fixID, e.Late, jsonOrNil(e.Attrs), stx.eventID(i))
	}
	for _, a := range b.Alerts {
		status := a.Status
		if status == "" {
			status = tracker.StatusOpen
		}
		updated := a.UpdatedAt
		if updated.IsZero() {
			updated = a.Time
		}
		batch.Queue(upsertAlert, a.Type, a.Severity, status, a.VehicleID, a.Time, updated, a.ZoneID, a.DeclarationID,
			a.Late, a.Lat, a.Lon, a.Message, a.DedupKey, a.Active, rawOrNil(a.Evidence))
	}
	if plan.refill > 0 {
		batch.Queue(reserveFixIDs, plan.refill)
	}
	if stx == nil {
		batch.Queue("COMMIT")
	} else if batch.Len() == 0 {
		return stx.commit(ctx, q)
	}
	res := q.SendBatch(ctx, &batch)
	if !begun {
		for range beginStatements(stx) {
			if _, err := res.Exec(); err != nil {
				res.Close()
				return err
			}
		}
	}
	if plan.fast {
		if _, err := res.Exec(); err != nil { // latest_fixes
			res.Close()
			return err
		}
	}
	for _, i := range queued {
		if err := res.QueryRow().Scan(&eventIDs[i]); err != nil {
			res.Close()
			return err
		}
	}
	for i := range b.Alerts {
		if err := res.QueryRow().Scan(&alertIDs[i]); err != nil {
			res.Close()
			return err
		}
	}
	if plan.refill > 0 {
		if err := res.QueryRow().Scan(plan.refilled.dest()...); err != nil {
			res.Close()
			return err
		}
	}
	if stx != nil {
		if err := res.Close(); err != nil {
			return err
		}
		return stx.commit(ctx, q)
	}
	tag, err := res.Exec()
	if err == nil {
		err = committed(tag)
	}
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	return err
}

// encodedRows is b.Encoded when it holds every fix's row (EncodeFix), nil when not.
func encodedRows(b *tracker.Batch) [][]byte {
	if len(b.Fixes) == 0 || len(b.Encoded) != len(b.Fixes) {
		return nil
	}
	return b.Encoded
}

// newestByVehicle is the index in fixes of each vehicle's newest fix, by device time and then
// by place in the batch (as IDs are reserved), in vehicle order, so that two servers' commits
// lock the rows of latest_fixes in the same order. Evidence (tracker.Fix.Evidence) is never the
// vehicle's position.
func newestByVehicle(fixes []tracker.Fix) []int {
	at := make(map[string]int, len(fixes))
	for i := range fixes {
		f := &fixes[i]
		if f.Evidence() {
			continue
		}
		if j, ok := at[f.VehicleID]; !ok || !f.Time.Before(fixes[j].Time) {
			at[f.VehicleID] = i
		}
	}
	pick := make([]int, 0, len(at))
	for _, i := range at {
		pick = append(pick, i)
	}
	slices.SortFunc(pick, func(a, b int) int { return strings.Compare(fixes[a].VehicleID, fixes[b].VehicleID) })
	return pick
}

// fixColumns are the fixes at pick (nil: all), with their ids and attrs (attrsJSON; nil:
// encoded here), as the arguments of fixArrays.
func fixColumns(fixes []tracker.Fix, ids []int64, pick []int, attrs []any) ([]any, error) {
	n := len(fixes)
	if pick != nil {
		n = len(pick)
	}
	var (
		veh, dev, proto = make([]string, n), make([]string, n), make([]string, n)
		at, recv        = make([]time.Time, n), make([]time.Time, n)
		lat, lon        = make([]float64, n), make([]float64, n)
		speed, head, al = make([]float64, n), make([]float64, n), make([]float64, n)
		valid, late     = make([]bool, n), make([]bool, n)
		flags, js       = make([]any, n), make([]any, n)
		id              = make([]int64, n)
	)
	for i := range n {
		k := i
		if pick != nil {
			k = pick[i]
		}
		f := &fixes[k]
		veh[i], dev[i], proto[i], at[i], recv[i] = f.VehicleID, f.DeviceID, f.Protocol, f.Time, f.ReceivedAt
		lat[i], lon[i], speed[i], head[i], al[i] = f.Lat, f.Lon, f.SpeedKmh, f.Heading, f.AltitudeM
		valid[i], late[i], id[i] = f.Valid, f.Late, ids[k]
		if len(f.Flags) > 0 {
			b, err := json.Marshal(f.Flags)
			if err != nil {
				return nil, err
			}
			flags[i] = b
		}
		if attrs != nil {
			js[i] = attrs[k]
		} else {
			js[i] = fixAttrsJSON(f)
		}
	}
	return []any{veh, dev, proto, at, recv, lat, lon, speed, head, al, valid, late, flags, js, id}, nil
}

// committed is nil when a transaction's end was a COMMIT.
func committed(tag pgconn.CommandTag) error {
	if tag.String() != "COMMIT" {
		return fmt.Errorf("transaction ended with %s", tag) // rolled back by the server
	}
	return nil
}

// storeFixes begins the transaction and inserts fixes with their reserved newIDs, in one round
// trip. A fix whose key was not returned was reported before, or earlier in the same batch: it
// is a duplicate, or a variant stored by storeVariants.
func storeFixes(ctx context.Context, q querier, fixes []tracker.Fix, newIDs, ids []int64, dups []bool, stx *shareTx) error {
	args, err := fixColumns(fixes, newIDs, nil, attrsJSON(fixes))
	if err != nil {
		return err
	}
	var batch pgx.Batch
	queueBegin(&batch, stx)
	batch.Queue(insertFixes, args...)
	inserted := make(map[fixKey]int64, len(fixes))
	if err := insertBatch(ctx, q, &batch, len(beginStatements(stx)), inserted); err != nil {
		return err
	}
	for i := range fixes {
		k := fixKey{fixes[i].DeviceID, fixes[i].Time.UnixMicro()}
		id, ok := inserted[k]
		ids[i], dups[i] = id, !ok
		delete(inserted, k) // the same key later in the batch is not the first report
	}
	return storeVariants(ctx, q, fixes, ids, dups)
}

// insertBatch sends batch (begin statements, insertFixes) and notes the IDs of the fixes inserted.
func insertBatch(ctx context.Context, q querier, batch *pgx.Batch, begin int, inserted map[fixKey]int64) error {
	res := q.SendBatch(ctx, batch)
	defer res.Close()
	for range begin {
		if _, err := res.Exec(); err != nil {
			return err
		}
	}
	rows, err := res.Query()
	if err != nil {
		return err
	}
	var (
		id int64
		d  string
		t  time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &d, &t}, func() error {
		inserted[fixKey{d, t.UnixMicro()}] = id
		return nil
	}); err != nil {
		return err
	}
	return res.Close()
}

// storedReports are the stored reports of devices' times ($1, $2), in variant order.
var storedReports = `SELECT f.variant, ` + prefixed("f.", fixCols) + ` FROM fixes f
	JOIN unnest($1::text[], $2::timestamptz[]) AS u(d, t) ON f.device_id = u.d AND f.device_time = u.t
	ORDER BY f.variant`

// storedFix is a stored report of a device time and its variant.
type storedFix struct {
	variant int16
	fix     tracker.Fix
}

// storeVariants judges the fixes whose device time was already taken against the reports
// stored for it (tracker.AgainstStored): a covered one is a duplicate and gets the stored
// copy's ID, so that a retried batch's events still point at their fix; any other is stored
// as the next variant, merged or flagged as a conflict.
func storeVariants(ctx context.Context, tx querier, fixes []tracker.Fix, ids []int64, dups []bool) error {
	var dev []string
	var at []time.Time
	seen := map[fixKey]bool{}
	for i := range fixes {
		k := fixKey{fixes[i].DeviceID, fixes[i].Time.UnixMicro()}
		if dups[i] && !seen[k] {
			seen[k] = true
			dev, at = append(dev, fixes[i].DeviceID), append(at, fixes[i].Time)
		}
	}
	if len(dev) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, storedReports, dev, at)
	if err != nil {
		return err
	}
	stored := make(map[fixKey][]storedFix, len(dev))
	var variant int16
	if err := scanFixes(rows, []any{&variant}, func(f tracker.Fix) {
		k := fixKey{f.DeviceID, f.Time.UnixMicro()}
		stored[k] = append(stored[k], storedFix{variant, f})
	}); err != nil {
		return err
	}
	for i := range fixes {
		if !dups[i] {
			continue
		}
		f := &fixes[i]
		k := fixKey{f.DeviceID, f.Time.UnixMicro()}
		same := stored[k]
		reports := make([]tracker.Fix, len(same))
		for j := range same {
			reports[j] = same[j].fix
		}
		if j := tracker.AgainstStored(f, reports); j >= 0 {
			ids[i] = same[j].fix.ID
			continue
		}
		next := same[len(same)-1].variant + 1
		var flags []string
		if len(f.Flags) > 0 {
			flags = f.Flags
		}
		if err := tx.QueryRow(ctx, insertVariant, f.VehicleID, f.DeviceID, f.Protocol, f.Time, f.ReceivedAt, f.Lat, f.Lon,
			f.SpeedKmh, f.Heading, f.AltitudeM, f.Valid, f.Late, flags, jsonOrNil(f.Attrs), next).Scan(&ids[i]); err != nil {
			return err
		}
		dups[i] = false
		g := *f
		g.ID = ids[i]
		stored[k] = append(same, storedFix{next, g})
	}
	return nil
}

// prefixed qualifies each of a list of columns.
func prefixed(p, cols string) string {
	return p + strings.ReplaceAll(cols, ", ", ", "+p)
}

// isUniqueViolation reports a duplicate key.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", "40P01": // serialization failure, deadlock
		return true
	case "55P03": // lock timeout: a share's (see shares.go), retried on one connection
		return true
	}
	return isNoPartition(err)
}

// isNoPartition reports PostgreSQL's "no partition of relation found for row".
func isNoPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514" && strings.Contains(pe.Message, "no partition")
}

// attrsJSON is jsonOrNil of each fix's attributes: a commit encodes them once for every
// statement that sends them.
func attrsJSON(fixes []tracker.Fix) []any {
	out := make([]any, len(fixes))
	for i := range fixes {
		out[i] = fixAttrsJSON(&fixes[i])
	}
	return out
}

// fixAttrsJSON is jsonOrNil of a fix's attributes, by appendAttrsJSON.
func fixAttrsJSON(f *tracker.Fix) any {
	if len(f.Attrs) == 0 {
		return nil
	}
	return appendAttrsJSON(nil, f.Attrs)
}

func jsonOrNil[M ~map[string]any](m M) any {
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		// Values that JSON cannot hold (NaN, channels) have no business in attributes; keep the fix.
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return withoutNUL(b)
}

func rawOrNil(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	if !utf8.Valid(r) { // only inside a string of valid JSON: U+FFFD there, as json.Marshal makes it
		r = bytes.ToValidUTF8(r, []byte("\ufffd"))
	}
	return withoutNUL(r)
}

// The queries of fixes that the store serves; every one is backed by an index (TestQueriesUseIndexes).
const (
	trackSQL = `SELECT ` + fixCols + ` FROM fixes WHERE vehicle_id = $1 AND device_time >= $2 AND device_time < $3
		ORDER BY device_time, id`
	latestSQL     = `SELECT ` + fixCols + ` FROM latest_fixes ORDER BY vehicle_id`
	searchAreaSQL = `SELECT ` + fixCols + ` FROM fixes
		WHERE point(lon, lat) <@ box(point($1, $2), point($3, $4)) AND device_time >= $5 AND device_time < $6
		ORDER BY device_time, id LIMIT $7`
)

// Track returns a vehicle's fixes with from <= time < to in device-time order.
func (s *Store) Track(ctx context.Context, vehicleID string, from, to time.Time) ([]tracker.Fix, error) {
	return s.queryFixes(ctx, trackSQL, vehicleID, from, to)
}

// RenewFixIDs drops the fix IDs reserved ahead of the commits: the fixes stored after it get IDs
// above every ID another server reserved before it. A cluster tracker taking partitions over
// calls it, so that each vehicle's fixes keep ascending IDs across the hand-over.
func (s *Store) RenewFixIDs() { s.ids.renew() }

// LatestFixes returns the newest fix of every vehicle, by vehicle ID.
func (s *Store) LatestFixes(ctx context.Context) ([]tracker.Fix, error) {
	return s.queryFixes(ctx, latestSQL)
}

// SearchArea returns fixes inside box (edges included) with from <= time < to, in time order,
// at most limit of them (limit <= 0: all).
func (s *Store) SearchArea(ctx context.Context, box tracker.Box, from, to time.Time, limit int) ([]tracker.Fix, error) {
	var lim any
	if limit > 0 {
		lim = limit
	}
	return s.queryFixes(ctx, searchAreaSQL, box.MinLon, box.MinLat, box.MaxLon, box.MaxLat, from, to, lim)
}

func (s *Store) queryFixes(ctx context.Context, sql string, args ...any) ([]tracker.Fix, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	var out []tracker.Fix
	if err := scanFixes(rows, nil, func(f tracker.Fix) { out = append(out, f) }); err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	return out, nil
}

// scanFixes calls fn with each row's fix, the row being the columns of before, then fixCols.
func scanFixes(rows pgx.Rows, before []any, fn func(tracker.Fix)) error {
	var (
		f     tracker.Fix
		attrs []byte
	)
	dest := append(before, &f.ID, &f.VehicleID, &f.DeviceID, &f.Protocol, &f.Time, &f.ReceivedAt, &f.Lat, &f.Lon,
		&f.SpeedKmh, &f.Heading, &f.AltitudeM, &f.Valid, &f.Late, &f.Flags, &attrs)
	_, err := pgx.ForEachRow(rows, dest, func() error {
		g := f
		g.Time, g.ReceivedAt = g.Time.UTC(), g.ReceivedAt.UTC()
		g.Attrs = nil
		if len(attrs) > 0 {
			if err := json.Unmarshal(attrs, &g.Attrs); err != nil {
				return err
			}
		}
		fn(g)
		f.Flags = nil // a NULL leaves the destination untouched; the next row must not inherit flags
		return nil
	})
	return err
}
