package main

// `shouwang modbus scan`: try each slave id on a bus, and tell the models
// that answer apart by their profiles' identify registers.

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shouwang-iot/shouwang/drivers/modbus"
	"github.com/shouwang-iot/shouwang/gateway"
)

const scanUsage = `Usage: shouwang modbus scan BUS [--ids 1-247] [--timeout 200ms] [--profiles DIR]

Tries each slave id on the bus and lists those that answer (an exception
reply is an answer), with the profiles whose identify register matches.
BUS is --port /dev/ttyUSB0 [--baud 9600] [--parity N] or --address HOST:PORT [--transport tcp|rtu_over_tcp].
`

// probe is an identify register and the profiles it tells apart.
type probe struct {
	reg    modbus.Register
	models []string // the profiles that identify by it, in order
	equals []string // what each expects
}

// scanResult is what one slave id answered.
type scanResult struct {
	id     byte
	alive  bool
	models []string
	seen   []string // what each identify register read, or why it did not
}

func cmdModbusScan(args []string, stdout, stderr io.Writer) int {
	const prefix = "shouwang modbus scan"
	fs := newFlagSet("modbus scan", scanUsage, stderr)
	bus := addBusFlags(fs, 200*time.Millisecond)
	idsFlag := fs.String("ids", "1-247", "slave `ids` to try: 1-247, 5, or 1-10,20")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return parseExit(err)
	}
	if len(pos) > 0 {
		return fail(stderr, prefix, usagef("unexpected argument %q (the bus is given with --port or --address)", pos[0]))
	}
	lc, err := bus.link()
	if err != nil {
		return fail(stderr, prefix, err)
	}
	ids, err := parseIDs(*idsFlag, lc.Transport)
	if err != nil {
		return fail(stderr, prefix, err)
	}
	profiles, err := gateway.LoadProfiles(bus.profiles)
	if err != nil {
		return fail(stderr, prefix, err)
	}
	probes, unidentifiable := identifyProbes(profiles)

	link, err := openLink(lc)
	if err != nil {
		return fail(stderr, prefix, err)
	}
	defer link.Close()
	fmt.Fprintf(stderr, "scanning slave ids %s (%d in all) on %s, %s timeout per request\n", *idsFlag, len(ids), busName(lc), lc.Timeout)
	bar := newProgress(stderr, len(ids))
	var found []scanResult
	for i, id := range ids {
		r, err := scanSlave(link, id, probes)
		if err != nil {
			bar.finish(i, len(found))
			return fail(stderr, prefix, fmt.Errorf("the bus failed at slave %d: %w", id, err))
		}
		if r.alive {
			found = append(found, r)
		}
		bar.update(i+1, len(found))
	}
	bar.finish(len(ids), len(found))

	if len(found) == 0 {
		fmt.Fprintf(stdout, "no slave answered at ids %s on %s (check the wiring, A/B the right way round, the baud rate and parity)\n", *idsFlag, busName(lc))
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SLAVE\tPROFILE\tIDENTIFY")
	known := 0
	for _, r := range found {
		model := "unknown"
		if len(r.models) > 0 {
			model = strings.Join(r.models, ", ")
			known++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", r.id, model, strings.Join(r.seen, "; "))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d slaves answered on %s: %d identified, %d unknown\n", len(found), busName(lc), known, len(found)-known)
	if len(unidentifiable) > 0 {
		fmt.Fprintf(stdout, "profiles without an identify register, which a scan cannot recognise: %s\n", strings.Join(unidentifiable, ", "))
	}
	return 0
}

// parseIDs reads a list of slave ids: "1-247", "5", "1-10,20".
func parseIDs(s, transport string) ([]byte, error) {
	lo, hi := modbus.SlaveRange(transport)
	var out []byte
	for part := range strings.SplitSeq(s, ",") {
		a, b, isRange := strings.Cut(strings.TrimSpace(part), "-")
		first, err1 := strconv.Atoi(a)
		last, err2 := first, error(nil)
		if isRange {
			last, err2 = strconv.Atoi(b)
		}
		switch {
		case err1 != nil || err2 != nil:
			return nil, usagef("--ids %q: %q is not an id or a range of ids (e.g. 1-247, 5, or 1-10,20)", s, part)
		case first < lo || first > hi:
			return nil, usagef("--ids %q: %d is not a slave address (valid: %d to %d)", s, first, lo, hi)
		case last < lo || last > hi:
			return nil, usagef("--ids %q: %d is not a slave address (valid: %d to %d)", s, last, lo, hi)
		case last < first:
			return nil, usagef("--ids %q: the range %d-%d runs backwards (write the lower id first)", s, first, last)
		}
		for id := first; id <= last; id++ {
			out = append(out, byte(id))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// identifyProbes groups the profiles by identify register, so that one
// read tells apart every model that shares it; it also lists the modbus
// profiles that have none. With no identify register at all, the probe is
// holding register 0, which tells only whether something answers.
func identifyProbes(profiles map[string]*gateway.Profile) (probes []probe, without []string) {
	for _, name := range gateway.ProfilesWith(profiles, "modbus") {
		m := profiles[name].Drivers["modbus"].(*modbus.Model)
		if m.Identify == nil {
			without = append(without, name)
			continue
		}
		i := slices.IndexFunc(probes, func(p probe) bool { return p.reg == m.Identify.Register })
		if i < 0 {
			probes = append(probes, probe{reg: m.Identify.Register})
			i = len(probes) - 1
		}
		probes[i].models = append(probes[i].models, name)
		probes[i].equals = append(probes[i].equals, m.Identify.Equals)
	}
	// The register most profiles share first: it is the one that decides
	// whether anything is there.
	slices.SortStableFunc(probes, func(a, b probe) int { return len(b.models) - len(a.models) })
	if len(probes) == 0 {
		probes = []probe{{reg: modbus.Register{Table: modbus.HoldingRegisters, Address: 0, Type: modbus.U16}}}
	}
	return probes, without
}

// scanSlave tries one slave id: it is there if it answers the first
// probe at all, with data or with an exception. It returns an error only
// when the bus itself fails (the port is gone, the peer refuses
// connections).
func scanSlave(link *modbus.Link, id byte, probes []probe) (scanResult, error) {
	r := scanResult{id: id}
	var matched []string
	for i, pr := range probes {
		p := pr.reg.Point("identify", "")
		where := fmt.Sprintf("%s %d", p.Table, p.Address)
		regs, err := modbus.ReadPoint(link.Slave(id), &p)
		if err != nil {
			link.Reset(err)
			switch {
			case modbus.Exception(err) != nil:
				r.alive = true
				r.seen = append(r.seen, where+": "+describeErr(err))
			case modbus.IsTimeout(err):
				if i == 0 {
					return r, nil // nothing there
				}
				r.seen = append(r.seen, where+": "+describeErr(err))
			default:
				if cerr := link.Connect(); cerr != nil {
					return r, cerr
				}
				// Something answered, but not in a frame that checks out:
				// a device at another baud rate or parity, or two slaves
				// at one address.
				r.alive = true
				r.seen = append(r.seen, fmt.Sprintf("%s: garbled answer (%v)", where, err))
			}
			continue
		}
		r.alive = true
		text, err := identifyText(&p, regs)
		if err != nil {
			r.seen = append(r.seen, fmt.Sprintf("%s: %v", where, err))
			continue
		}
		entry := fmt.Sprintf("%s = %q", where, text)
		r.seen = append(r.seen, entry)
		for k, model := range pr.models {
			if text == pr.equals[k] {
				r.models = append(r.models, model)
				matched = append(matched, entry)
			}
		}
	}
	// An identified slave's row shows what identified it; an unknown
	// one's shows everything it answered, for the installer to compare
	// with the device's manual.
	if len(matched) > 0 {
		r.seen = slices.Compact(matched)
	}
	return r, nil
}

// identifyText is an identify register's value as text: a string's text,
// a number's decimal, a bit's 0 or 1.
func identifyText(p *modbus.Point, regs []uint16) (string, error) {
	switch {
	case p.Type == modbus.String:
		return modbus.Text(p, regs)
	case p.Table.Bits():
		return strconv.Itoa(int(regs[0])), nil
	}
	v, err := modbus.Value(p, regs)
	if err != nil {
		return "", err
	}
	return strconv.FormatFloat(v, 'f', -1, 64), nil
}

// progress is the scan's progress bar on stderr: one line redrawn with \r
// on a terminal; elsewhere (a log, a pipe) only the final line.
type progress struct {
	w     io.Writer
	tty   bool
	total int
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, tty: isTerminal(w), total: total}
}

func (p *progress) line(done, found int) string {
	const width = 20
	n := width
	if p.total > 0 {
		n = done * width / p.total
	}
	return fmt.Sprintf("scanning %d/%d [%s%s] found %d", done, p.total, strings.Repeat("#", n), strings.Repeat(".", width-n), found)
}

func (p *progress) update(done, found int) {
	if p.tty {
		fmt.Fprintf(p.w, "\r%s", p.line(done, found))
	}
}

func (p *progress) finish(done, found int) {
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\n", p.line(done, found))
		return
	}
	fmt.Fprintln(p.w, p.line(done, found))
}
