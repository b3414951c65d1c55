package modbus

import (
	"fmt"
	"strings"
	"sync"
)

// rawRegisters is what each point of a device last read as, before
// decoding, by the point's place in the device's points. The bus owner
// writes it at every poll; the console reads it now and then, and only
// then is it formatted.
type rawRegisters struct {
	mu    sync.Mutex
	words [][]uint16 // nil until the point is first read
}

func newRawRegisters(points int) *rawRegisters { return &rawRegisters{words: make([][]uint16, points)} }

func (r *rawRegisters) keep(point int, words []uint16) {
	r.mu.Lock()
	r.words[point] = append(r.words[point][:0], words...)
	r.mu.Unlock()
}

// Raw gives a device's points as the registers they last read as, in hex
// ("0x00FA 0x0001"), or a bit as 0 or 1 (shouwang.RawKeeper).
func (d *Driver) Raw(device string) map[string]string {
	dv := d.devices[device]
	if dv == nil {
		return nil
	}
	dv.raw.mu.Lock()
	defer dv.raw.mu.Unlock()
	var out map[string]string
	for k, words := range dv.raw.words {
		if words == nil {
			continue
		}
		var b strings.Builder
		for i, w := range words {
			if i > 0 {
				b.WriteByte(' ')
			}
			if dv.points[k].Table.Bits() {
				fmt.Fprint(&b, w)
			} else {
				fmt.Fprintf(&b, "0x%04X", w)
			}
		}
		if out == nil {
			out = map[string]string{}
		}
		out[dv.points[k].Name] = b.String()
	}
	return out
}
