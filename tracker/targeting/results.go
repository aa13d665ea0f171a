package targeting

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/borderwatch/borderwatch/tracker"
)

// photoTypes are the photo formats a tablet's camera makes, told by their bytes (never by the
// name or the type the client claims).
var photoTypes = []string{"image/jpeg", "image/png", "image/webp"}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// AddPhoto stores a photo of an open order's inspection, named by its SHA-256, and lists it on
// the order. Those sent to the order and its port's or the district's people may add one.
func (s *Service) AddPhoto(ctx context.Context, by Actor, orderID string, data []byte) (tracker.Photo, error) {
	var p tracker.Photo
	switch {
	case len(data) == 0:
		return p, invalid("the photo is empty")
	case len(data) > MaxPhotoBytes:
		return p, invalid("a photo may have at most %d bytes", MaxPhotoBytes)
	}
	ct := http.DetectContentType(data)
	if !slices.Contains(photoTypes, ct) {
		return p, invalid("a photo must be JPEG, PNG or WebP, not %s", ct)
	}
	o, err := s.actOn(ctx, by, orderID)
	if err != nil {
		return p, err
	}
	if o.Status != tracker.TargetActive && o.Status != tracker.TargetFired {
		return p, tracker.ErrTransition
	}
	sum := sha256.Sum256(data)
	p = tracker.Photo{OrderID: o.ID, SHA256: hex.EncodeToString(sum[:]), ContentType: ct, Size: len(data), By: by.Username, At: s.cfg.Wall().UTC(), Data: data}
	if !slices.Contains(o.Photos, p.SHA256) {
		if len(o.Photos) >= MaxPhotosOfOrder {
			return p, invalid("an order has at most %d photos", MaxPhotosOfOrder)
		}
		if err := s.cfg.Store.PutPhoto(ctx, p); err != nil {
			return p, err
		}
		o.Photos = append(o.Photos, p.SHA256)
		if o, err = s.cfg.Store.UpdateTarget(ctx, o); err != nil {
			return p, err
		}
		s.remember(o)
	}
	return p, s.audit(ctx, by.Username, "target.photo", "target:"+o.ID, map[string]any{"sha256": p.SHA256, "size": p.Size, "type": ct})
}

// Photo returns an order's photo to one who may see the order.
func (s *Service) Photo(ctx context.Context, by Actor, orderID, sha string) (tracker.Photo, error) {
	if !sha256Hex.MatchString(sha) {
		return tracker.Photo{}, invalid("a photo is named by its SHA-256 in lower-case hex")
	}
	if _, err := s.actOn(ctx, by, orderID); err != nil {
		return tracker.Photo{}, err
	}
	return s.cfg.Store.Photo(ctx, orderID, sha)
}

// actOn returns the order if the actor may see it or was sent to it.
func (s *Service) actOn(ctx context.Context, by Actor, orderID string) (tracker.TargetOrder, error) {
	o, err := s.cfg.Store.Target(ctx, orderID)
	if err != nil || by.Sees(&o) {
		return o, err
	}
	as, err := s.cfg.Store.Assignments(ctx, tracker.AssignmentQuery{OrderID: orderID})
	if err != nil {
		return o, err
	}
	for _, a := range as {
		if by.mayAct(&a) {
			return o, nil
		}
	}
	return tracker.TargetOrder{}, tracker.ErrNotFound
}

// Report is an inspection result as reported.
type Report struct {
	Found    bool   `json:"found"`
	Category string `json:"category"`
	Note     string `json:"note"`
}

var findings = []string{tracker.FindingUndeclaredGoods, tracker.FindingProhibitedItems, tracker.FindingMisdeclared}

// Report records the inspection's result, which closes the order (and its assignments). The
// caller resolves the order's alert.
func (s *Service) Report(ctx context.Context, by Actor, orderID string, r Report) (tracker.TargetOrder, error) {
	r.Note = strings.TrimSpace(r.Note)
	switch {
	case r.Found && !slices.Contains(findings, r.Category):
		return tracker.TargetOrder{}, invalid("a finding's category must be one of %s", strings.Join(findings, ", "))
	case !r.Found && r.Category != "" && r.Category != tracker.FindingNone:
		return tracker.TargetOrder{}, invalid("nothing found has category none")
	case len(r.Note) > MaxNote:
		return tracker.TargetOrder{}, invalid("note longer than %d bytes", MaxNote)
	}
	if !r.Found {
		r.Category = tracker.FindingNone
	}
	o, err := s.actOn(ctx, by, orderID)
	if err != nil {
		return o, err
	}
	o.Result = &tracker.InspectionResult{Found: r.Found, Category: r.Category, Note: r.Note, By: by.Username, At: s.cfg.Now().UTC()}
	if o, err = s.close(ctx, o, tracker.TargetClosed, by.Username); err != nil {
		return o, err
	}
	s.notify(Notice{Kind: NoticeClosed, Order: &o, PortID: o.PortID})
	return o, s.audit(ctx, by.Username, "target.result", "target:"+o.ID, o.Result)
}

// Inspection is an order raised on an alert, with its inspection's result and photos: what
// the alert's evidence shows of it.
type Inspection struct {
	Order  tracker.TargetOrder `json:"order"`
	Photos []tracker.Photo     `json:"photos"`
}

// AlertInspections returns the orders raised on alert a, oldest first, with their photos
// (without their bytes). The caller has decided that its user may see a.
func (s *Service) AlertInspections(ctx context.Context, a tracker.Alert) ([]Inspection, error) {
	os, err := s.cfg.Store.Targets(ctx, tracker.TargetQuery{VehicleID: a.VehicleID})
	if err != nil {
		return nil, err
	}
	var out []Inspection
	for _, o := range slices.Backward(os) {
		if o.AlertID != a.ID {
			continue
		}
		ps, err := s.cfg.Store.Photos(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, Inspection{Order: o, Photos: ps})
	}
	return out, nil
}

// AlertPhoto returns a photo of an inspection of alert a, named by its SHA-256; a photo of
// any other order is tracker.ErrNotFound. The caller has decided that its user may see a.
func (s *Service) AlertPhoto(ctx context.Context, a tracker.Alert, sha string) (tracker.Photo, error) {
	if !sha256Hex.MatchString(sha) {
		return tracker.Photo{}, invalid("a photo is named by its SHA-256 in lower-case hex")
	}
	os, err := s.cfg.Store.Targets(ctx, tracker.TargetQuery{VehicleID: a.VehicleID})
	if err != nil {
		return tracker.Photo{}, err
	}
	for _, o := range os {
		if o.AlertID == a.ID && slices.Contains(o.Photos, sha) {
			return s.cfg.Store.Photo(ctx, o.ID, sha)
		}
	}
	return tracker.Photo{}, tracker.ErrNotFound
}
