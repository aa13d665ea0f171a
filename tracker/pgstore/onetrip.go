package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/borderwatch/borderwatch/tracker"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
)

// copyFixes is the COPY of a batch's fixes (encodeCopy's rows).
const copyFixes = "COPY fixes (" + fixCols + ") FROM STDIN (FORMAT binary)"

// copyChunk is the most COPY data one CopyData message carries, as pgx's CopyFrom sends it.
const copyChunk = 64 << 10

// errProtocol is a reply that the one-round-trip commit did not expect: the connection is closed.
var errProtocol = errors.New("unexpected reply")

// tripStep is a statement of a one-round-trip commit after the COPY: its prepared statement, its
// arguments and where its row goes (nil: none).
type tripStep struct {
	sql  string
	args []any
	dest []any
}

// commitOneTrip is the fast way of commitOnce (plan.fast, one connection) in one round trip:
// BEGIN, the COPY of the fixes with their rows, the newest of each vehicle upserted into
// latest_fixes, the events, the alerts, the refill of fix IDs and COMMIT are written at once
// as extended-protocol messages closed by one Sync, then the replies are read. A COPY started
// by Execute takes its CopyData right behind it; whatever fails (a device time taken is
// errTaken) makes PostgreSQL skip every message up to the Sync, COMMIT included, and answer
// ReadyForQuery: the transaction is left failed ('E') for the caller's ROLLBACK, never
// committed in part. Anything else (the connection lost, the context done, a reply out of
// turn) closes the connection, so that the pool never gets one in the middle of the protocol.
func commitOneTrip(ctx context.Context, conn *pgx.Conn, b *tracker.Batch, eventFixes []int, fixIDs []int64, dups []bool, eventIDs, alertIDs []int64, plan *txPlan) error {
	newest, err := fixColumns(b.Fixes, plan.newFixIDs, newestByVehicle(b.Fixes), nil)
	if err != nil {
		return err
	}
	steps := make([]tripStep, 0, 2+len(b.Events)+len(b.Alerts))
	steps = append(steps, tripStep{sql: upsertLatestOf, args: newest})
	for i, e := range b.Events {
		fixID := e.FixID
		if k := eventFixes[i]; k >= 0 {
			fixID = plan.newFixIDs[k]
		}
		steps = append(steps, tripStep{sql: insertEvent, dest: []any{&eventIDs[i]},
			args: []any{e.Type, e.Time, e.VehicleID, e.ZoneID, e.Lat, e.Lon, fixID, e.Late, jsonOrNil(e.Attrs), nil}})
	}
	for i, a := range b.Alerts {
		status := a.Status
		if status == "" {
			status = tracker.StatusOpen
		}
		updated := a.UpdatedAt
		if updated.IsZero() {
			updated = a.Time
		}
		steps = append(steps, tripStep{sql: upsertAlert, dest: []any{&alertIDs[i]},
			args: []any{a.Type, a.Severity, status, a.VehicleID, a.Time, updated, a.ZoneID, a.DeclarationID,
				a.Late, a.Lat, a.Lon, a.Message, a.DedupKey, a.Active, rawOrNil(a.Evidence)}})
	}
	var refilled reservedIDs
	if plan.refill > 0 {
		steps = append(steps, tripStep{sql: reserveFixIDs, args: []any{plan.refill}, dest: refilled.dest()})
	}
	// The statements are prepared once a connection (pgx keeps them by their text); this is
	// a round trip of its own only the first time.
	sds := make([]*pgconn.StatementDescription, len(steps))
	for i, st := range steps {
		if i > 0 && steps[i-1].sql == st.sql {
			sds[i] = sds[i-1]
			continue
		}
		if sds[i], err = conn.Prepare(ctx, st.sql, st.sql); err != nil {
			return err
		}
	}

	// The messages before the COPY's rows, the rows, and those after.
	m := conn.TypeMap()
	head, err := encodeMessages(nil,
		&pgproto3.Parse{Query: "BEGIN"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Parse{Query: copyFixes}, &pgproto3.Bind{}, &pgproto3.Execute{})
	if err != nil {
		return err
	}
	buf := encodeCopy(copyBufs.Get().(*[]byte), b.Fixes, encodedRows(b), plan.newFixIDs)
	defer func() {
		if cap(*buf) <= maxPooledCopy {
			copyBufs.Put(buf)
		}
	}()
	rows := *buf
	out := net.Buffers{head}
	headers := make([]byte, 0, 5*(len(rows)/copyChunk+1))
	for len(rows) > 0 {
		n := min(len(rows), copyChunk)
		at := len(headers)
		headers = append(headers, 'd')
		headers = binary.BigEndian.AppendUint32(headers, uint32(n+4))
		out = append(out, headers[at:], rows[:n])
		rows = rows[n:]
	}
	tail, err := encodeMessages(nil, &pgproto3.CopyDone{})
	if err != nil {
		return err
	}
	var eqb pgx.ExtendedQueryBuilder
	for i, st := range steps {
		if err := eqb.Build(m, sds[i], st.args); err != nil {
			return err
		}
		if tail, err = encodeMessages(tail, &pgproto3.Bind{PreparedStatement: sds[i].Name,
			ParameterFormatCodes: eqb.ParamFormats, Parameters: eqb.ParamValues, ResultFormatCodes: eqb.ResultFormats},
			&pgproto3.Execute{}); err != nil {
			return err
		}
	}
	if tail, err = encodeMessages(tail,
		&pgproto3.Parse{Query: "COMMIT"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}); err != nil {
		return err
	}
	out = append(out, tail)

	if err := ctx.Err(); err != nil {
		return err
	}
	pg := conn.PgConn()
	nc := pg.Conn()
	// A context done while the commit is under way interrupts its reads and writes; the
	// connection is then closed below.
	var (
		mu       sync.Mutex
		finished bool
		fired    bool
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !finished {
			fired = true
			nc.SetDeadline(time.Now())
		}
	})
	// Written beside the reading: PostgreSQL answers while it reads, and a writer that waited
	// for the whole batch to be taken before reading could wait on a server waiting on it.
	written := make(chan error, 1)
	go func() {
		_, err := out.WriteTo(nc)
		written <- err
	}()
	pgErr, err := readTrip(pg, steps, sds, m, len(b.Fixes))
	stop()
	mu.Lock()
	finished = true
	mu.Unlock()
	if err != nil { // the connection cannot be used again: close it, which ends the write too
		nc.SetDeadline(time.Now())
		pg.Close(context.Background())
		<-written
		if fired {
			return fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return err
	}
	if werr := <-written; werr != nil { // every reply came: cannot be, but never reuse it
		pg.Close(context.Background())
		return werr
	}
	if fired {
		nc.SetDeadline(time.Time{})
	}
	if pgErr != nil {
		var pe *pgconn.PgError
		if errors.As(pgErr, &pe) && (pe.Code == "26000" || pe.Code == "0A000") {
			// A statement prepared here is gone or stale (a migration by another server
			// changed a table): a new connection prepares them again.
			pg.Close(context.Background())
		}
		return pgErr
	}
	copy(fixIDs, plan.newFixIDs)
	clear(dups)
	plan.refilled = refilled
	return nil
}

// readTrip reads the replies of a one-round-trip commit (commitOneTrip) through its
// ReadyForQuery: BEGIN and COPY, then steps, then COMMIT, each ended by a CommandComplete, rows
// scanned into their step's dest. A statement's failure is failed (errTaken for a unique
// violation of the COPY), after which the server skips the rest; err is a failure that leaves
// the connection unusable.
func readTrip(pg *pgconn.PgConn, steps []tripStep, sds []*pgconn.StatementDescription, m *pgtype.Map, fixes int) (failed, err error) {
	done := 0 // CommandCompletes: BEGIN, COPY, the steps, COMMIT
	total := len(steps) + 3
	var scanErr error
	for {
		msg, err := pg.ReceiveMessage(context.Background())
		if err != nil {
			return nil, err
		}
		switch msg := msg.(type) {
		case *pgproto3.ParseComplete, *pgproto3.BindComplete, *pgproto3.CopyInResponse,
			*pgproto3.NoticeResponse, *pgproto3.ParameterStatus, *pgproto3.NotificationResponse:
		case *pgproto3.DataRow:
			s := done - 2
			if failed != nil || s < 0 || s >= len(steps) || len(msg.Values) != len(steps[s].dest) {
				return nil, fmt.Errorf("%w: a row at statement %d", errProtocol, done)
			}
			for j, v := range msg.Values {
				oid := sds[s].Fields[j].DataTypeOID
				if err := m.Scan(oid, m.FormatCodeForOID(oid), v, steps[s].dest[j]); err != nil && scanErr == nil {
					scanErr = err
				}
			}
		case *pgproto3.CommandComplete:
			if failed != nil {
				return nil, fmt.Errorf("%w: a statement done after a failure", errProtocol)
			}
			tag := pgconn.NewCommandTag(string(msg.CommandTag))
			switch {
			case done == 1 && (!strings.HasPrefix(tag.String(), "COPY ") || tag.RowsAffected() != int64(fixes)):
				return nil, fmt.Errorf("%w: COPY answered %q for %d fixes", errProtocol, tag, fixes)
			case done == total-1:
				failed = committed(tag)
			}
			done++
		case *pgproto3.ErrorResponse:
			if failed != nil {
				return nil, fmt.Errorf("%w: a second error", errProtocol)
			}
			failed = pgconn.ErrorResponseToPgError(msg)
			if done == 1 && isUniqueViolation(failed) {
				failed = fmt.Errorf("%w: %w", errTaken, failed)
			}
		case *pgproto3.ReadyForQuery:
			if failed == nil && done != total {
				return nil, fmt.Errorf("%w: %d of %d statements answered", errProtocol, done, total)
			}
			if failed == nil {
				failed = scanErr // committed, but a row could not be read: as a lost reply to COMMIT
			}
			return failed, nil
		default:
			return nil, fmt.Errorf("%w: %T", errProtocol, msg)
		}
	}
}

// encodeMessages appends the frontend messages to dst.
func encodeMessages(dst []byte, msgs ...pgproto3.FrontendMessage) ([]byte, error) {
	var err error
	for _, msg := range msgs {
		if dst, err = msg.Encode(dst); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

