package camera

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/camera/facade"
)

// incident is one throw, as one or more cameras saw it.
type incident struct {
	id       string
	building string
	at       time.Time // when the first report came
	device   shouwang.Device
	cameras  []string
	trace    facade.Trace
	evidence []string
	linked   []string // earlier incidents from the same window
}

// incidentBook merges reports of one throw by several cameras and links
// throws from one window. The driver's lock guards it.
type incidentBook struct {
	merge, link time.Duration
	recent      []*incident // the last merge window's
	windows     map[string][]linkedThrow
	reports     map[[sha256.Size]byte]*filed // the last resendWindow's, by camera and body
	seq         int
}

// resendWindow is how long a report is known again by its body: a
// camera that got no answer, or a 503, sends the same body again.
const resendWindow = 10 * time.Minute

// filed is one camera's report as filed into an incident.
type filed struct {
	inc       *incident
	merged    bool
	committed bool // its events are durable
	at        time.Time
}

// reportKey names a report by its camera and body.
func reportKey(camera string, body []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(camera))
	h.Write([]byte{0})
	h.Write(body)
	return [sha256.Size]byte(h.Sum(nil))
}

// again returns the report filed under key within the resend window,
// and forgets older ones.
func (b *incidentBook) again(key [sha256.Size]byte, at time.Time) *filed {
	for k, f := range b.reports {
		if at.Sub(f.at) > resendWindow {
			delete(b.reports, k)
		}
	}
	return b.reports[key]
}

type linkedThrow struct {
	id string
	at time.Time
}

// add files one camera's traced report, received at at: into the
// incident of another camera of the same building within the merge
// window (merged is then true), or as a new one.
func (b *incidentBook) add(dev shouwang.Device, tr facade.Trace, at time.Time) (inc *incident, merged bool) {
	building := dev.Location.Community + "/" + dev.Location.Building
	keep := b.recent[:0]
	for _, r := range b.recent {
		if at.Sub(r.at) <= b.merge {
			keep = append(keep, r)
		}
	}
	b.recent = keep
	for _, r := range b.recent {
		if r.building == building && !slices.Contains(r.cameras, dev.ID) && compatible(r.trace, tr) {
			r.cameras = append(r.cameras, dev.ID)
			if better(tr, r.trace) {
				r.trace = tr
			}
			return r, true
		}
	}
	b.seq++
	inc = &incident{id: fmt.Sprintf("%s-%s-%d", at.UTC().Format("20060102T150405.000"), fileSafe(dev.ID), b.seq),
		building: building, at: at, device: dev, cameras: []string{dev.ID}, trace: tr}
	b.recent = append(b.recent, inc)
	return inc, false
}

// linkWindow records the incident's window, once named, and lists the
// earlier incidents from it within the link window.
func (b *incidentBook) linkWindow(inc *incident) {
	w := inc.trace.Window
	if w == nil {
		return
	}
	key := fmt.Sprintf("%s/%d/%d", inc.building, w.Floor, w.Column)
	var keep []linkedThrow
	inc.linked = inc.linked[:0]
	for _, l := range b.windows[key] {
		if inc.at.Sub(l.at) <= b.link && l.id != inc.id {
			keep = append(keep, l)
			inc.linked = append(inc.linked, l.id)
		}
	}
	b.windows[key] = append(keep, linkedThrow{inc.id, inc.at})
	// Windows nobody threw from for a link window are forgotten.
	for k, ls := range b.windows {
		if len(ls) > 0 && inc.at.Sub(ls[len(ls)-1].at) > b.link {
			delete(b.windows, k)
		}
	}
}

// compatible says two traces may be one throw: they do not name floors
// more than one apart.
func compatible(a, b facade.Trace) bool {
	return a.Floor == 0 || b.Floor == 0 || abs(a.Floor-b.Floor) <= 1
}

// better says trace a is the one to report over b.
func better(a, b facade.Trace) bool {
	if (a.Window != nil) != (b.Window != nil) {
		return a.Window != nil
	}
	return a.Confidence > b.Confidence
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// fileSafe keeps letters, digits, - and _ of s, for a file name.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}
