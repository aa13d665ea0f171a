package jt808

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Version tells the body layouts of the standard's editions apart where they differ.
type Version int

// Editions of JT/T 808.
const (
	V2011 Version = 2011
	V2013 Version = 2013
	V2019 Version = 2019
)

// registerWidths are the fixed field widths of 0x0100: maker, model, terminal id.
func registerWidths(v Version) (maker, model, id int) {
	switch v {
	case V2011:
		return 5, 8, 7
	case V2019:
		return 11, 30, 30
	default:
		return 5, 20, 7
	}
}

// Register is a 0x0100 terminal registration.
type Register struct {
	Version    Version // the edition whose layout the body has
	Province   uint16
	City       uint16
	Maker      string
	Model      string
	TerminalID string
	PlateColor byte
	Plate      string // decoded from GBK (or the VIN when PlateColor is 0)
}

// DecodeRegister decodes a 0x0100 body. A 2019 header (v2019) means the 2019 layout; otherwise
// the body's length tells 2013 (37 bytes before the plate) from 2011 (25).
func DecodeRegister(body []byte, v2019 bool) (Register, error) {
	v := V2013
	switch {
	case v2019:
		v = V2019
	case len(body) < 37:
		v = V2011
	}
	maker, model, id := registerWidths(v)
	fixed := 4 + maker + model + id + 1
	if len(body) < fixed {
		return Register{}, malformed("register body of %d bytes, %d layout needs %d", len(body), v, fixed)
	}
	r := Register{
		Version:  v,
		Province: binary.BigEndian.Uint16(body[0:]),
		City:     binary.BigEndian.Uint16(body[2:]),
	}
	p := 4
	r.Maker = trimText(body[p : p+maker])
	p += maker
	r.Model = trimText(body[p : p+model])
	p += model
	r.TerminalID = trimText(body[p : p+id])
	p += id
	r.PlateColor = body[p]
	plate, err := decodeGBK(body[p+1:])
	if err != nil {
		return Register{}, err
	}
	r.Plate = plate
	return r, nil
}

// AppendRegister appends the 0x0100 body of r in the layout of r.Version (2013 when unset).
// Fixed fields are padded with zero bytes; longer values are an error.
func AppendRegister(dst []byte, r *Register) ([]byte, error) {
	maker, model, id := registerWidths(r.Version)
	plate, err := simplifiedchinese.GBK.NewEncoder().String(r.Plate)
	if err != nil {
		return dst, fmt.Errorf("jt808: plate %q: %w", r.Plate, err)
	}
	dst = binary.BigEndian.AppendUint16(dst, r.Province)
	dst = binary.BigEndian.AppendUint16(dst, r.City)
	for _, f := range []struct {
		name, v string
		n       int
	}{{"maker", r.Maker, maker}, {"model", r.Model, model}, {"terminal id", r.TerminalID, id}} {
		if len(f.v) > f.n {
			return dst, fmt.Errorf("jt808: %s %q longer than %d bytes", f.name, f.v, f.n)
		}
		dst = append(dst, f.v...)
		dst = append(dst, make([]byte, f.n-len(f.v))...)
	}
	dst = append(dst, r.PlateColor)
	return append(dst, plate...), nil
}

// Auth is a 0x0102 terminal authentication.
type Auth struct {
	Code            string
	IMEI            string // 2019 only
	SoftwareVersion string // 2019 only
}

// DecodeAuth decodes a 0x0102 body. Before 2019 the whole body is the code; 2019 bodies are
// length BYTE, code, IMEI[15], software version[20]. A 2019 header with a body that does not
// fit that layout is read the older way, as some terminals mix the two.
func DecodeAuth(body []byte, v2019 bool) Auth {
	if v2019 && len(body) > 0 {
		n := int(body[0])
		if len(body) == 1+n+15+20 {
			return Auth{
				Code:            string(body[1 : 1+n]),
				IMEI:            trimText(body[1+n : 1+n+15]),
				SoftwareVersion: trimText(body[1+n+15:]),
			}
		}
	}
	return Auth{Code: trimText(body)}
}

// AppendAuth appends the 0x0102 body of a in the layout of v.
func AppendAuth(dst []byte, a *Auth, v Version) ([]byte, error) {
	if v != V2019 {
		return append(dst, a.Code...), nil
	}
	if len(a.Code) > 255 || len(a.IMEI) > 15 || len(a.SoftwareVersion) > 20 {
		return dst, fmt.Errorf("jt808: auth fields too long")
	}
	dst = append(dst, byte(len(a.Code)))
	dst = append(dst, a.Code...)
	dst = append(dst, a.IMEI...)
	dst = append(dst, make([]byte, 15-len(a.IMEI))...)
	dst = append(dst, a.SoftwareVersion...)
	return append(dst, make([]byte, 20-len(a.SoftwareVersion))...), nil
}

// Batch types of 0x0704.
const (
	BatchNormal    = 0
	BatchBlindArea = 1 // backfill from the terminal's buffer after a signal loss
)

// Batch is a 0x0704 batch upload: its type and the 0x0200 bodies of its items.
type Batch struct {
	Type  byte
	Items [][]byte // alias the body
}

// DecodeBatch decodes a 0x0704 body. The count must match the items present.
func DecodeBatch(body []byte) (Batch, error) {
	if len(body) < 3 {
		return Batch{}, malformed("batch body of %d bytes", len(body))
	}
	count := int(binary.BigEndian.Uint16(body))
	b := Batch{Type: body[2], Items: make([][]byte, 0, min(count, len(body)/(2+LocationLen)))}
	for p := 3; p < len(body); {
		if p+2 > len(body) {
			return Batch{}, malformed("batch item length cut short")
		}
		n := int(binary.BigEndian.Uint16(body[p:]))
		p += 2
		if p+n > len(body) {
			return Batch{}, malformed("batch item %d cut short", len(b.Items))
		}
		b.Items = append(b.Items, body[p:p+n])
		p += n
	}
	if len(b.Items) != count {
		return Batch{}, malformed("batch says %d items, has %d", count, len(b.Items))
	}
	return b, nil
}

// AppendBatch appends a 0x0704 body with the given type and 0x0200 bodies.
func AppendBatch(dst []byte, typ byte, items ...[]byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(items)))
	dst = append(dst, typ)
	for _, it := range items {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(it)))
		dst = append(dst, it...)
	}
	return dst
}

// GeneralResponse is the body of 0x8001 (platform) and 0x0001 (terminal) general responses.
type GeneralResponse struct {
	ReplySerial uint16
	ReplyID     uint16
	Result      byte
}

// DecodeGeneralResponse decodes a 0x8001 or 0x0001 body.
func DecodeGeneralResponse(body []byte) (GeneralResponse, error) {
	if len(body) != 5 {
		return GeneralResponse{}, malformed("general response of %d bytes", len(body))
	}
	return GeneralResponse{
		ReplySerial: binary.BigEndian.Uint16(body),
		ReplyID:     binary.BigEndian.Uint16(body[2:]),
		Result:      body[4],
	}, nil
}

// AppendGeneralResponse appends a 0x8001 or 0x0001 body.
func AppendGeneralResponse(dst []byte, r GeneralResponse) []byte {
	dst = binary.BigEndian.AppendUint16(dst, r.ReplySerial)
	dst = binary.BigEndian.AppendUint16(dst, r.ReplyID)
	return append(dst, r.Result)
}

// RegisterResponse is a 0x8100 body. AuthCode is sent only with result RegisterOK.
type RegisterResponse struct {
	ReplySerial uint16
	Result      byte
	AuthCode    string
}

// DecodeRegisterResponse decodes a 0x8100 body.
func DecodeRegisterResponse(body []byte) (RegisterResponse, error) {
	if len(body) < 3 {
		return RegisterResponse{}, malformed("register response of %d bytes", len(body))
	}
	return RegisterResponse{
		ReplySerial: binary.BigEndian.Uint16(body),
		Result:      body[2],
		AuthCode:    string(body[3:]),
	}, nil
}

// AppendRegisterResponse appends a 0x8100 body.
func AppendRegisterResponse(dst []byte, r RegisterResponse) []byte {
	dst = binary.BigEndian.AppendUint16(dst, r.ReplySerial)
	dst = append(dst, r.Result)
	if r.Result == RegisterOK {
		dst = append(dst, r.AuthCode...)
	}
	return dst
}

// trimText cuts the zero-byte and space padding of a fixed-width field.
func trimText(b []byte) string {
	return string(bytes.Trim(b, "\x00 "))
}

func decodeGBK(b []byte) (string, error) {
	b = bytes.TrimRight(b, "\x00 ")
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil {
		return "", malformed("plate is not GBK: %v", err)
	}
	return string(s), nil
}
