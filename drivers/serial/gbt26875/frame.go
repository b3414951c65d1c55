// Package gbt26875 reads GB/T 26875.3-2011, the protocol between a fire
// alarm user information transmission device (用户信息传输装置, UITD) and
// its monitoring centre, with the gateway in the centre's place: it
// decodes what the UITD sends about the fire alarm system and its
// components and answers each data frame with the confirm frame the
// standard expects.
//
// A frame (byte offsets, multi-byte numbers low byte first):
//
//	0  "@@"            start
//	2  serial    2     the initiator's packet number; the answer echoes it
//	4  version   2     main (1) and user version
//	6  time      6     sec, min, hour, day, month, year-2000
//	12 source    6     address of the sender
//	18 dest      6     address of the receiver
//	24 length    2     L, the application data unit's length, at most 1024
//	26 command   1     1 control, 2 send data, 3 confirm, 4 request, 5 response, 6 deny
//	27 ADU       L     type flag, object count, objects
//	27+L sum     1     sum of bytes 2 .. 26+L, modulo 256
//	28+L "##"          end
package gbt26875

import (
	"encoding/binary"
	"time"
)

// Sizes of a frame's parts.
const (
	HeaderSize = 27   // start marker to command byte
	TrailerLen = 3    // checksum and end marker
	MaxADU     = 1024 // the standard's limit on L
	MaxFrame   = HeaderSize + MaxADU + TrailerLen
)

// Command bytes.
const (
	CmdControl  = 1 // centre to UITD: a control command (time sync)
	CmdSend     = 2 // send data; answered with CmdConfirm
	CmdConfirm  = 3
	CmdRequest  = 4 // a query; answered with CmdResponse
	CmdResponse = 5
	CmdDeny     = 6 // the receiver could not take the frame
)

// Header is a frame's fixed part.
type Header struct {
	Serial  uint16
	Version [2]byte
	Time    [6]byte
	Source  Address
	Dest    Address
	Command byte
}

// Address is a 6-byte UITD or centre address, held as the number its
// bytes spell low byte first; it prints as that decimal number (the
// standard's sample UITD 38 5B 01 00 00 00 is 88888).
type Address uint64

func getAddress(b []byte) Address {
	var a Address
	for i := 5; i >= 0; i-- {
		a = a<<8 | Address(b[i])
	}
	return a
}

func putAddress(b []byte, a Address) {
	for i := range 6 {
		b[i] = byte(a >> (8 * i))
	}
}

// checksum is the standard's sum: bytes 3 to 27 of the header (1-based)
// and the ADU, modulo 256.
func checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return s
}

// parseHeader reads the fixed part of a frame already checked.
func parseHeader(f []byte) Header {
	h := Header{Serial: binary.LittleEndian.Uint16(f[2:]), Source: getAddress(f[12:]), Dest: getAddress(f[18:]), Command: f[26]}
	copy(h.Version[:], f[4:6])
	copy(h.Time[:], f[6:12])
	return h
}

// AppendFrame appends a whole frame of h and adu to dst. adu may be empty
// (a confirm, a heartbeat) and must not be longer than MaxADU.
func AppendFrame(dst []byte, h Header, adu []byte) []byte {
	start := len(dst)
	dst = append(dst, '@', '@', byte(h.Serial), byte(h.Serial>>8), h.Version[0], h.Version[1])
	dst = append(dst, h.Time[:]...)
	var addrs [12]byte
	putAddress(addrs[:6], h.Source)
	putAddress(addrs[6:], h.Dest)
	dst = append(dst, addrs[:]...)
	dst = append(dst, byte(len(adu)), byte(len(adu)>>8), h.Command)
	dst = append(dst, adu...)
	return append(dst, checksum(dst[start+2:]), '#', '#')
}

// TimeLabel is the 6-byte time of a frame or an object, in the UITD's
// own clock: seconds, minutes, hours, day, month, year - 2000.
func TimeLabel(t time.Time) [6]byte {
	return [6]byte{byte(t.Second()), byte(t.Minute()), byte(t.Hour()), byte(t.Day()), byte(t.Month()), byte(t.Year() % 100)}
}

// parseTime reads a time label in loc; ok is false for a label that is no
// date (month 13, all zeros).
func parseTime(b []byte, loc *time.Location) (t time.Time, ok bool) {
	sec, min, hour, day, mon, yy := int(b[0]), int(b[1]), int(b[2]), int(b[3]), int(b[4]), int(b[5])
	if sec > 59 || min > 59 || hour > 23 || day < 1 || day > 31 || mon < 1 || mon > 12 || yy > 99 {
		return time.Time{}, false
	}
	t = time.Date(2000+yy, time.Month(mon), day, hour, min, sec, 0, loc)
	if t.Day() != day { // 31 February
		return time.Time{}, false
	}
	return t, true
}
