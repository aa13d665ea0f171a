// Package jt808 speaks JT/T 808 (editions 2011, 2013 and 2019), the Chinese standard for
// vehicle terminals: a codec that decodes and encodes both directions (so simulators and load
// generators can play the terminal) and Server, the TCP gateway that turns location reports
// into tracker.Fix values.
//
// # Codec
//
// Scanner splits a byte stream into frames; DecodeFrame unescapes one, verifies its XOR
// checksum and reads the 2013 or 2019 header (a 2013 header with the reserved bit 14 set is
// told by its body length); DecodeLocation, DecodeBatch, DecodeLocationList (vendor 0x0210),
// DecodePassThrough (0x0900), DecodeDriverIdentity (0x0702, the 2011, 2013 and 2019 layouts),
// DecodeWaybill (0x0701), DecodeRegister, DecodeAuth and DecodeGeneralResponse read bodies.
// AppendFrame and the Append* body encoders write them. Reassembler joins sub-packages.
// Decoding a location does not allocate. Location.Attrs names the extra items whose meaning is
// documented (the standard's and the big makers' vendor items) and keeps the others as hex; an
// item never costs the position.
//
// # Gateway behaviour
//
// A terminal is the device whose id is its phone number without leading zeros, or, when its
// 2013 phone field is not BCD but a binary IMEI (Jimi/Concox firmware), its 15-digit IMEI with
// the check digit: the IMEI printed on the box. The gateway asks
// tracker.Admission once per connection (again if the phone number changes) and answers:
//
//   - Unknown device (or one registered for another protocol): every message gets 0x8001 with
//     result 1 (failure) and nothing is stored, except 0x0100, which gets 0x8100 with result 4
//     (no such terminal) — the answer the standard has for registration.
//   - Device with an auth code: 0x0200 and 0x0704 get 0x8001 result 1 until a 0x0102 carries
//     exactly that code; a wrong code gets result 1. Heartbeats are answered meanwhile.
//   - Device without an auth code: reports at once; any 0x0102 is accepted.
//   - 0x0100 from a known device: 0x8100 result 0 with its auth code, or its id when it has none.
//   - 0x0200, 0x0704, 0x0210 and 0x0900 with a position: submitted to the Sink (a batch in one
//     Submit); 0x8001 result 0 once the Sink stored them or refused them for good
//     (*tracker.RefusedError). Any other Sink error gets no answer, so the terminal keeps the
//     fixes and resends them. Blind-area batches (type 1) become late fixes flagged
//     tracker.FlagBlindArea. 0x0201 (a location query's answer) is stored the same way and
//     not answered.
//   - 0x0900 pass-through: GNSS detail (NMEA RMC), the VL502 OBD report (0xF0) and AOVX's
//     Bluetooth and sensor reports (0x53, 0x54) carry a position; serial-port OBD text (0x41,
//     0x42) does not and is acknowledged at once, as is a 0x0210 sleep report. Other types:
//     result 3.
//   - 0x0702 driver identity and 0x0701 waybill: an event on the vehicle (tracker.EventDriverIdentity,
//     tracker.EventWaybill) through Config.Events, at the terminal's last position; result 0
//     once stored, no answer when not; result 3 without Events. They need authentication like
//     locations.
//   - Heartbeat, terminal response: result 0. Logout: result 0, then the connection is closed.
//   - A bad checksum or malformed body: result 2 (message error) when the header could be read;
//     an unsupported message id or an encrypted body: result 3. The connection goes on.
//   - Sub-packages are acknowledged one by one with result 0 and the whole message is answered
//     as above, with the serial of its last package.
//
// Replies use the header edition and phone encoding of the frame they answer.
package jt808
