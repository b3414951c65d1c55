package serial

import (
	"cmp"
	"slices"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// conditionBook holds the conditions (a fire alarm, a fault) active on the
// driver's devices, by device and the kind that clears each, so that a
// panel reset (复位) clears them as the panel itself does: a panel prints
// "复位" and no line per detector, and a UITD need not resend every
// detector's status after it.
type conditionBook map[condKey]string // → the scope (UITD) it was raised under

type condKey struct{ device, clear string }

// note records e: a condition of fault severity or above opens, its clear
// closes it. Info conditions (a pump started) are not reset.
func (b conditionBook) note(e shouwang.Event, scope string) {
	if shouwang.IsClearKind(e.Kind) {
		delete(b, condKey{e.Device, e.Kind})
		return
	}
	if e.Severity >= shouwang.Fault {
		b[condKey{e.Device, shouwang.ClearKind(e.Kind)}] = scope
	}
}

// reset appends the clear of every condition raised under scope, in
// device then kind order, and forgets them.
func (b conditionBook) reset(evs []shouwang.Event, scope string, at time.Time) []shouwang.Event {
	var keys []condKey
	for k, s := range b {
		if s == scope {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y condKey) int { return cmp.Or(cmp.Compare(x.device, y.device), cmp.Compare(x.clear, y.clear)) })
	for _, k := range keys {
		delete(b, k)
		evs = append(evs, shouwang.Event{Device: k.device, Kind: k.clear, Severity: shouwang.Info, Message: "复位 (panel reset)",
			Time: at, Attrs: map[string]string{"cause": "reset"}})
	}
	return evs
}
