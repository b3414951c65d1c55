package main

// `shouwang modbus read`: one read of every point, status register and
// setting of one device, each decoded beside its raw registers.

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/shouwang-iot/shouwang/drivers/modbus"
)

const readUsage = `Usage:
  shouwang modbus read DEVICE [--config FILE]
  shouwang modbus read BUS --id N --profile MODEL [--profiles DIR]

Reads every point, status register and setting of one device once and
prints each decoded beside its raw registers.
BUS is --port /dev/ttyUSB0 [--baud 9600] [--parity N] or --address HOST:PORT [--transport tcp|rtu_over_tcp].
`

func cmdModbusRead(args []string, stdout, stderr io.Writer) int {
	const prefix = "shouwang modbus read"
	fs := newFlagSet("modbus read", readUsage, stderr)
	tf := addTargetFlags(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return parseExit(err)
	}
	t, err := tf.resolve(pos)
	if err != nil {
		return fail(stderr, prefix, err)
	}
	link, err := openLink(t.link)
	if err != nil {
		return fail(stderr, prefix, err)
	}
	defer link.Close()
	r := &reader{link: link, slave: t.slave}
	// The tables are printed once the device has answered: a device that
	// is not there gets one clear error, not a table of timeouts.
	var out bytes.Buffer
	m := t.model
	fmt.Fprintln(&out, t)
	fmt.Fprintf(&out, "layout: %s\n", m.Layout)

	points := m.PollPoints()
	if len(m.Points) > 0 {
		tw := table(&out, "POINT\tREGISTER\tRAW\tVALUE")
		for i := range m.Points {
			p := &points[i]
			regs, err := r.read(p)
			raw, value := cells(p, regs, err)
			fmt.Fprintf(tw, "%s\t%s %d\t%s\t%s\n", p.Name, p.Table, p.Address, raw, value)
		}
		tw.Flush()
	}
	if len(m.Status) > 0 {
		tw := table(&out, "STATUS\tREGISTER\tRAW\tBITS AND VALUES\tSET")
		for i, s := range m.Status {
			raw, detail, set := "-", "", "-"
			if regs, err := r.read(&points[len(m.Points)+i]); err != nil {
				detail = describeErr(err)
			} else {
				raw, detail, set = statusCells(&s, regs[0])
			}
			fmt.Fprintf(tw, "%s\t%s %d\t%s\t%s\t%s\n", s.Name, s.Table, s.Address, raw, detail, set)
		}
		tw.Flush()
	}
	if len(m.Settings) > 0 {
		tw := table(&out, "SETTING\tREGISTER\tRAW\tVALUE\tVALID")
		for i := range m.Settings {
			s := &m.Settings[i]
			p := s.Point(s.Name, s.Unit)
			regs, err := r.read(&p)
			raw, value := cells(&p, regs, err)
			fmt.Fprintf(tw, "%s\t%s %d\t%s\t%s\t%s\n", s.Name, s.Table, s.Address, raw, value, s.Range())
		}
		tw.Flush()
	}
	mismatch := ""
	if id := m.Identify; id != nil {
		p := id.Point("identify", "")
		raw, value := "-", ""
		regs, err := r.read(&p)
		if err != nil {
			value = describeErr(err)
		} else {
			raw = modbus.HexRegisters(regs)
			if text, terr := identifyText(&p, regs); terr != nil {
				value = terr.Error()
			} else {
				value = strconv.Quote(text)
				if text != id.Equals {
					mismatch = fmt.Sprintf("%s %d reads %q, but %s devices hold %q: is this the right profile?", p.Table, p.Address, text, t.profile, id.Equals)
				}
			}
		}
		tw := table(&out, "IDENTIFY\tREGISTER\tRAW\tVALUE\tEXPECTED")
		fmt.Fprintf(tw, "identify\t%s %d\t%s\t%s\t%q\n", p.Table, p.Address, raw, value, id.Equals)
		tw.Flush()
	}
	if r.gone != nil {
		return fail(stderr, prefix, fmt.Errorf("slave %d on %s did not answer: %w (check --id with `shouwang modbus scan`, and the line settings)",
			t.slave, busName(t.link), r.gone))
	}
	stdout.Write(out.Bytes())
	if mismatch != "" {
		fmt.Fprintf(stderr, "%s: warning: %s\n", prefix, mismatch)
	}
	if r.failed > 0 {
		fmt.Fprintf(stderr, "%s: %d of %d reads failed (see the table): the device does not have every register profile %s lists\n", prefix, r.failed, r.reads, t.profile)
		return 1
	}
	return 0
}

// table starts one of the read's tables, after a blank line.
func table(out io.Writer, header string) *tabwriter.Writer {
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}

// reader reads one point at a time from a slave and counts the failures.
// Until the device has answered something (data or an exception), a read
// that gets no answer marks it gone, and no further read is sent.
type reader struct {
	link     *modbus.Link
	slave    byte
	answered bool
	gone     error
	reads    int
	failed   int
}

func (r *reader) read(p *modbus.Point) ([]uint16, error) {
	if r.gone != nil {
		return nil, r.gone
	}
	r.reads++
	regs, err := modbus.ReadPoint(r.link.Slave(r.slave), p)
	if err == nil {
		r.answered = true
		return regs, nil
	}
	r.link.Reset(err)
	r.failed++
	switch {
	case modbus.Exception(err) != nil:
		r.answered = true
	case !r.answered:
		r.gone = err
	}
	return nil, err
}

// cells are the RAW and VALUE cells of a point's row.
func cells(p *modbus.Point, regs []uint16, err error) (raw, value string) {
	if err != nil {
		return "-", describeErr(err)
	}
	if p.Table.Bits() {
		return strconv.Itoa(int(regs[0])), modbus.FormatValue(p, float64(regs[0]))
	}
	raw = modbus.HexRegisters(regs)
	if p.Type == modbus.String {
		text, err := modbus.Text(p, regs)
		if err != nil {
			return raw, err.Error()
		}
		return raw, strconv.Quote(text)
	}
	v, err := modbus.Value(p, regs)
	if err != nil {
		return raw, err.Error()
	}
	return raw, modbus.FormatValue(p, v)
}

// statusCells describe a status register's value: each bit or value with
// its event, and the events that are set.
func statusCells(s *modbus.StatusMap, raw uint16) (rawCell, detail, set string) {
	rawCell = fmt.Sprintf("0x%04X", raw)
	if s.Table.Bits() {
		rawCell = strconv.Itoa(int(raw))
	}
	var parts, on []string
	for _, b := range s.Bits {
		bit := raw >> b.Bit & 1
		parts = append(parts, fmt.Sprintf("bit %d %s=%d", b.Bit, b.Event, bit))
		if bit == 1 {
			on = append(on, b.Event)
		}
	}
	for _, v := range s.Values {
		is := "no"
		if raw == v.Value {
			is = "yes"
			on = append(on, v.Event)
		}
		parts = append(parts, fmt.Sprintf("value %d %s: %s", v.Value, v.Event, is))
	}
	set = "-"
	if len(on) > 0 {
		set = strings.Join(on, ", ")
	}
	return rawCell, strings.Join(parts, ", "), set
}
