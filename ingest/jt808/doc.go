// Package jt808 speaks JT/T 808 (editions 2011, 2013 and 2019), the Chinese standard for
// vehicle terminals: a codec that decodes and encodes both directions (so simulators and load
// generators can play the terminal) and Server, the TCP gateway that turns location reports
// into tracker.Fix values.
//
// # Codec
//
// Scanner splits a byte stream into frames; DecodeFrame unescapes one, verifies its XOR
// checksum and reads the 2013 or 2019 header; DecodeLocation, DecodeBatch, DecodeRegister,
// DecodeAuth and DecodeGeneralResponse read bodies. AppendFrame and the Append* body encoders
// write them. Reassembler joins sub-packages. Decoding a location does not allocate.
//
// # Gateway behaviour
//
// A terminal is the device whose id is its phone number without leading zeros. The gateway asks
// tracker.Admission once per connection (again if the phone number changes) and answers:
//
//   - Unknown device (or one registered for another protocol): every message gets 0x8001 with
//     result 1 (failure) and nothing is stored, except 0x0100, which gets 0x8100 with result 4
//     (no such terminal) — the answer the standard has for registration.
//   - Device with an auth code: 0x0200 and 0x0704 get 0x8001 result 1 until a 0x0102 carries
//     exactly that code; a wrong code gets result 1. Heartbeats are answered meanwhile.
//   - Device without an auth code: reports at once; any 0x0102 is accepted.
//   - 0x0100 from a known device: 0x8100 result 0 with its auth code, or its id when it has none.
//   - 0x0200 and 0x0704: submitted to the Sink (a batch in one Submit); 0x8001 result 0 once the
//     Sink stored them or refused them for good (*tracker.RefusedError). Any other Sink error
//     gets no answer, so the terminal keeps the fixes and resends them. Blind-area batches
//     (type 1) become late fixes flagged tracker.FlagBlindArea.
//   - Heartbeat, terminal response: result 0. Logout: result 0, then the connection is closed.
//   - A bad checksum or malformed body: result 2 (message error) when the header could be read;
//     an unsupported message id or an encrypted body: result 3. The connection goes on.
//   - Sub-packages are acknowledged one by one with result 0 and the whole message is answered
//     as above, with the serial of its last package.
//
// Replies use the header edition and phone encoding of the frame they answer.
package jt808
