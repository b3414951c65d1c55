package main

// `shouwang device apply`: write a detector's settings (alarm set-points,
// its slave address, its line speed) the way an installer can trust: every
// value is checked against the profile's range before anything is sent,
// the change is shown beside what the device holds now, and every write
// is read back.

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/shouwang-iot/shouwang/drivers/modbus"
)

const deviceUsage = `Usage:
  shouwang device apply DEVICE [--profile MODEL] --set NAME=VALUE [--set ...] [--yes] [--config FILE]
  shouwang device apply BUS --id N --profile MODEL --set NAME=VALUE [--set ...] [--yes] [--profiles DIR]

Reads the settings' current values, shows what would change, asks (unless
--yes), writes each setting and reads it back. A value outside the
profile's range is refused before anything is sent.
BUS is --port /dev/ttyUSB0 [--baud 9600] [--parity N] or --address HOST:PORT [--transport tcp|rtu_over_tcp].
DEVICE is a device id in the config file (default ` + defaultConfigFile + `).
Exit status: 1 if the bus or device failed, a write was not taken or the
change was not confirmed; 2 if the command line is wrong (nothing was sent).
`

func cmdDevice(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, deviceUsage)
		return 2
	}
	switch args[0] {
	case "apply":
		return cmdDeviceApply(args[1:], stdin, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, deviceUsage)
		return 0
	}
	fmt.Fprintf(stderr, "shouwang device: unknown command %q\n\n%s", args[0], deviceUsage)
	return 2
}

// setFlags collect the --set NAME=VALUE flags in order.
type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, " ") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

// change is one setting to write.
type change struct {
	s      *modbus.Setting
	v      float64 // as given
	stored float64 // as the device will hold it
	regs   []uint16
	cur    float64 // what it holds now
	same   bool    // it holds it already: not written
}

func cmdDeviceApply(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const prefix = "shouwang device apply"
	fs := newFlagSet("device apply", deviceUsage, stderr)
	tf := addTargetFlags(fs)
	var sets setFlags
	fs.Var(&sets, "set", "`NAME=VALUE`: a setting to write (repeat for several)")
	yes := fs.Bool("yes", false, "write without asking")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return parseExit(err)
	}
	t, err := tf.resolve(pos)
	if err != nil {
		return fail(stderr, prefix, err)
	}
	changes, err := parseChanges(t, sets)
	if err != nil {
		return fail(stderr, prefix, err)
	}

	link, err := openLink(t.link)
	if err != nil {
		return fail(stderr, prefix, err)
	}
	defer link.Close()
	for _, c := range changes {
		cur, regs, err := modbus.ReadSetting(link.Slave(t.slave), c.s)
		if err != nil {
			link.Reset(err)
			return fail(stderr, prefix, fmt.Errorf("cannot read the current %s of %s: %w; nothing was written", c.s.Name, t, err))
		}
		c.cur, c.same = cur, slices.Equal(regs, c.regs)
		if c.s.Type == modbus.Bool {
			c.same = cur == c.stored // regs is the whole register of a bit
		}
	}

	fmt.Fprintln(stdout, t)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tCURRENT\tNEW\tVALID\tNOTE")
	var pending []*change
	for _, c := range changes {
		p := c.s.Point(c.s.Name, c.s.Unit)
		var notes []string
		switch {
		case c.same:
			notes = append(notes, "unchanged: not written")
		case c.stored != c.v:
			notes = append(notes, fmt.Sprintf("%v is stored as %s", c.v, modbus.FormatValue(&p, c.stored)))
		}
		if !c.same {
			pending = append(pending, c)
			switch c.s.Role {
			case modbus.RoleSlaveID:
				notes = append(notes, fmt.Sprintf("the device answers at %d at once", int(c.v)))
			case modbus.RoleBaud:
				notes = append(notes, "taken after a power cycle")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.s.Name, modbus.FormatValue(&p, c.cur), modbus.FormatValue(&p, c.stored), c.s.Range(), strings.Join(notes, "; "))
	}
	tw.Flush()
	if len(pending) == 0 {
		fmt.Fprintln(stdout, "nothing to write: the device holds these values already")
		return 0
	}
	if !*yes {
		fmt.Fprintf(stderr, "write %d setting(s) to %s? [y/N] ", len(pending), t)
		answer, _ := bufio.NewReader(stdin).ReadString('\n')
		if !isTerminal(stdin) {
			fmt.Fprintln(stderr, strings.TrimSpace(answer)) // a terminal has echoed it
		}
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(stderr, "not confirmed: nothing was written")
			return 1
		}
	}

	// The slave address goes last: once it is written, the device no
	// longer answers at the address the other writes go to.
	slices.SortStableFunc(pending, func(a, b *change) int { return roleOrder(a.s.Role) - roleOrder(b.s.Role) })
	for i, c := range pending {
		if err := applyOne(link, t, c, stdout); err != nil {
			fmt.Fprintf(stderr, "%s: FAILED: %v\n", prefix, err)
			fmt.Fprintf(stderr, "%s: on %s\n", prefix, t)
			var done, left []string
			for _, d := range pending[:i] {
				done = append(done, d.s.Name)
			}
			for _, d := range pending[i+1:] {
				left = append(left, d.s.Name)
			}
			fmt.Fprintf(stderr, "%s: written and read back before it: %s; not written: %s\n", prefix, listOrNone(done), listOrNone(left))
			return 1
		}
	}
	for _, c := range pending {
		switch c.s.Role {
		case modbus.RoleSlaveID:
			if t.device != "" {
				fmt.Fprintf(stdout, "the device now answers at slave %d: set address: \"%d\" for device %s in %s\n", int(c.v), int(c.v), t.device, t.file)
			} else {
				fmt.Fprintf(stdout, "the device now answers at slave %d: use --id %d from now on\n", int(c.v), int(c.v))
			}
		case modbus.RoleBaud:
			now := "its old speed"
			if t.link.Transport == modbus.TransportRTU {
				now = fmt.Sprintf("%d baud", t.link.Line.Baud)
			}
			v := strconv.FormatFloat(c.stored, 'f', -1, 64)
			fmt.Fprintf(stdout, "%s %s is taken when the device is power-cycled; until then it answers at %s. After the power cycle, set the bus's serial.baud (or --baud) to %s\n",
				c.s.Name, v, now, v)
		}
	}
	return 0
}

// roleOrder puts ordinary settings first, then the baud rate (read back
// at the old speed), then the slave address.
func roleOrder(role string) int {
	switch role {
	case modbus.RoleBaud:
		return 1
	case modbus.RoleSlaveID:
		return 2
	}
	return 0
}

// applyOne writes one setting and reads it back, at the new address for a
// slave address.
func applyOne(link *modbus.Link, t *target, c *change, stdout io.Writer) error {
	p := c.s.Point(c.s.Name, c.s.Unit)
	what := fmt.Sprintf("%s = %s (%s %d: %s)", c.s.Name, modbus.FormatValue(&p, c.stored), c.s.Table, c.s.Address, modbus.HexRegisters(c.regs))
	back := c.s.ReadBackSlave(t.slave, c.v)
	if err := modbus.WriteSetting(link.Slave(t.slave), c.s, c.v); err != nil {
		link.Reset(err)
		switch {
		case modbus.Exception(err) != nil:
			return fmt.Errorf("slave %d refused %s: %w", t.slave, what, err)
		case c.s.Role != modbus.RoleSlaveID:
			return fmt.Errorf("no good answer from slave %d to %s: %w; the device may or may not have taken it (check with `shouwang modbus read`)", t.slave, what, err)
		}
		// Many detectors switch to the new address before they answer
		// the write, or answer from the new one: the read-back decides.
		fmt.Fprintf(stdout, "%s: no good answer to the write from slave %d (%s); reading back at slave %d\n", c.s.Name, t.slave, describeErr(err), back)
	}
	if err := modbus.VerifySetting(link.Slave(back), c.s, c.v); err != nil {
		link.Reset(err)
		if errors.Is(err, modbus.ErrNotTaken) {
			return fmt.Errorf("%w (written to slave %d, read back at slave %d)", err, t.slave, back)
		}
		return fmt.Errorf("%s was written to slave %d, but reading it back at slave %d failed: %w; the device may not have taken it", what, t.slave, back, err)
	}
	fmt.Fprintf(stdout, "%s: %s -> %s written and read back", c.s.Name, modbus.FormatValue(&p, c.cur), modbus.FormatValue(&p, c.stored))
	if back != t.slave {
		fmt.Fprintf(stdout, " at slave %d", back)
	}
	fmt.Fprintln(stdout)
	return nil
}

// parseChanges reads the --set flags against the device's profile: every
// name must be a setting, every value a number in its range; every
// problem is reported, and nothing is sent if there is one.
func parseChanges(t *target, sets []string) ([]*change, error) {
	var names []string
	for _, s := range t.model.Settings {
		names = append(names, s.Name)
	}
	if len(sets) == 0 {
		return nil, usagef("nothing to apply: give --set NAME=VALUE (settings of %s: %s)", t.profile, listOrNone(names))
	}
	var out []*change
	var msgs []string
	seen := map[string]bool{}
	for _, kv := range sets {
		name, val, ok := strings.Cut(kv, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !ok || name == "" {
			msgs = append(msgs, fmt.Sprintf("--set %q: want NAME=VALUE, e.g. --set low_alarm=10", kv))
			continue
		}
		s, ok := t.model.Setting(name)
		if !ok {
			msgs = append(msgs, fmt.Sprintf("--set %s: profile %s has no setting %q (settings: %s)", kv, t.profile, name, listOrNone(names)))
			continue
		}
		if seen[name] {
			msgs = append(msgs, fmt.Sprintf("--set %s: %s is set twice", kv, name))
			continue
		}
		seen[name] = true
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("--set %s: %q is not a number (valid: %s)", kv, val, s.Range()))
			continue
		}
		regs, stored, err := s.Encode(v)
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("--set %s: %v", kv, err))
			continue
		}
		out = append(out, &change{s: s, v: v, stored: stored, regs: regs})
	}
	if len(msgs) > 0 {
		return nil, usagef("%s\nnothing was written", strings.Join(msgs, "\n"))
	}
	return out, nil
}

var _ flag.Value = (*setFlags)(nil)
