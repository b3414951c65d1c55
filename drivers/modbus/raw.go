package modbus

import (
	"fmt"
	"strings"
	"sync"
)

// rawRegisters is what each point of a device last read as, before
// decoding. The bus owner writes it at every poll; the console reads it
// now and then, and only then is it formatted.
type rawRegisters struct {
	mu    sync.Mutex
	words map[string][]uint16
}

func (r *rawRegisters) keep(point string, words []uint16) {
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
	if len(dv.raw.words) == 0 {
		return nil
	}
	bits := map[string]bool{}
	for _, p := range dv.points {
		bits[p.Name] = p.Table.Bits()
	}
	out := make(map[string]string, len(dv.raw.words))
	for point, words := range dv.raw.words {
		var b strings.Builder
		for i, w := range words {
			if i > 0 {
				b.WriteByte(' ')
			}
			if bits[point] {
				fmt.Fprint(&b, w)
			} else {
				fmt.Fprintf(&b, "0x%04X", w)
			}
		}
		out[point] = b.String()
	}
	return out
}
