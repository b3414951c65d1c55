// Package stream is the contract between the serial driver and its
// protocols (gbt26875, textline, frames): a Decoder turns the bytes of one
// stream into readings and events, and says what it could not read.
package stream

import (
	"time"

	"github.com/shouwang-iot/shouwang"
)

// A Decoder reads one stream (a serial port while it stays open, or one
// TCP connection) into what its frames say. One goroutine uses it.
type Decoder interface {
	// Feed takes the next bytes read from the stream, at now, and appends
	// to b what the frames they complete said. An event's or reading's
	// Device is the sender's address as the protocol spells it (the
	// driver turns it into a device id). Feed returns what must be written
	// back once b is durable (GB/T 26875.3 confirm frames), or nil; the
	// slice is valid until the next call. Bytes of a frame not yet
	// complete are kept for the next call, up to the protocol's largest
	// frame; what cannot be read is reported to the decoder's ErrorFunc
	// and skipped, and decoding goes on at the next frame.
	Feed(p []byte, now time.Time, b *shouwang.Batch) (reply []byte)
}

// ErrorFunc is told of each thing a decoder could not read: kind names it
// for the error counter (one of the protocol's ErrorKinds), sample holds
// the bytes in question (the caller clips it; it is only valid during the
// call).
type ErrorFunc func(kind string, sample []byte)

// PanelAddress is the address of the panel itself, for what a panel
// reports about no detector in particular (a reset, its own mains
// failure): the installer places the panel's device with this address.
const PanelAddress = "panel"

// Reset is the event kind of a panel reset (复位). The driver answers it by
// clearing every condition still active on the devices of that panel, as
// the panel itself has.
const Reset = "reset"
