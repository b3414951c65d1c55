package main

// The installer's Modbus commands: scan a bus for the slaves on it and tell
// their models apart, and read one device's points, status registers and
// settings, decoded beside the raw registers. `device apply` (apply.go)
// shares the bus flags and the way a device is found.
//
// Exit codes: 0 done; 1 the bus, the device or the config file failed;
// 2 the command line is wrong, and nothing was sent on the bus.

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	gm "github.com/goburrow/modbus"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/modbus"
	"github.com/shouwang-iot/shouwang/gateway"
)

// defaultConfigFile is the config file `shouwang run` reads when -c is not
// given; DEVICE arguments are looked up in it.
const defaultConfigFile = "/etc/shouwang/shouwang.yaml"

const modbusUsage = `Usage:
  shouwang modbus scan BUS [--ids 1-247] [--timeout 200ms] [--profiles DIR]
  shouwang modbus read DEVICE [--config FILE]
  shouwang modbus read BUS --id N --profile MODEL [--profiles DIR]

BUS is --port /dev/ttyUSB0 [--baud 9600] [--parity N] [--data-bits 8] [--stop-bits 1]
    or --address HOST:PORT [--transport tcp|rtu_over_tcp]
DEVICE is a device id in the config file (default ` + defaultConfigFile + `).
Exit status: 1 if the bus or device failed, 2 if the command line is wrong (nothing was sent).
`

func cmdModbus(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, modbusUsage)
		return 2
	}
	switch args[0] {
	case "scan":
		return cmdModbusScan(args[1:], stdout, stderr)
	case "read":
		return cmdModbusRead(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, modbusUsage)
		return 0
	}
	fmt.Fprintf(stderr, "shouwang modbus: unknown command %q\n\n%s", args[0], modbusUsage)
	return 2
}

// usageError is a mistake on the command line, found before anything was
// sent on the bus: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// fail prints err, one line per problem, each after prefix, and returns
// the exit status: 2 for a usage error, 1 otherwise.
func fail(stderr io.Writer, prefix string, err error) int {
	if list, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range list.Unwrap() {
			fmt.Fprintf(stderr, "%s: %v\n", prefix, e)
		}
	} else {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "%s: %s\n", prefix, line)
		}
	}
	if isUsage(err) {
		return 2
	}
	return 1
}

func isUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// newFlagSet makes a subcommand's flags; -h prints usage and then the
// flags.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags that may come before or after the positional
// arguments (shouwang modbus read gas-1 --config FILE) and returns the
// positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// parseExit is the exit status for a flag parse error: 0 after -h.
func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// busFlags say how to reach a bus without a config file.
type busFlags struct {
	port, address, transport, parity string
	baud, dataBits, stopBits         int
	timeout                          time.Duration
	profiles                         string
}

// busFlagNames are the flags that name a bus, which the DEVICE form takes
// from the config file instead.
var busFlagNames = []string{"port", "address", "transport", "baud", "parity", "data-bits", "stop-bits", "profiles"}

func addBusFlags(fs *flag.FlagSet, timeout time.Duration) *busFlags {
	b := &busFlags{}
	fs.StringVar(&b.port, "port", "", "serial `device` of an RS-485 bus (`shouwang serial list` shows them)")
	fs.StringVar(&b.address, "address", "", "`host:port` of a Modbus TCP device or a serial server")
	fs.StringVar(&b.transport, "transport", "", "tcp or rtu_over_tcp with --address (default tcp); rtu with --port")
	fs.IntVar(&b.baud, "baud", 9600, "line speed of a serial bus")
	fs.StringVar(&b.parity, "parity", "N", "parity of a serial bus: N, E or O")
	fs.IntVar(&b.dataBits, "data-bits", 8, "character size of a serial bus: 7 or 8")
	fs.IntVar(&b.stopBits, "stop-bits", 1, "stop bits of a serial bus: 1 or 2")
	fs.DurationVar(&b.timeout, "timeout", timeout, "how long each request waits for its answer")
	fs.StringVar(&b.profiles, "profiles", "", "`folder` of device profiles (*.yaml) to use besides the built-in ones")
	return b
}

// flagOf names the flag for a field of the modbus driver's config.
var flagOf = map[string]string{
	"transport": "--transport", "port": "--port", "address": "--address", "timeout": "--timeout",
	"serial": "--baud", "serial.baud": "--baud", "serial.parity": "--parity",
	"serial.data_bits": "--data-bits", "serial.stop_bits": "--stop-bits",
}

// link checks the flags as the config loader checks a driver section and
// says how to reach the bus.
func (b *busFlags) link() (modbus.LinkConfig, error) {
	switch {
	case b.port != "" && b.address != "":
		return modbus.LinkConfig{}, usagef("give --port (a serial bus) or --address (a TCP device or serial server), not both")
	case b.port == "" && b.address == "":
		return modbus.LinkConfig{}, usagef("no bus: give --port /dev/ttyUSB0 (a serial bus; `shouwang serial list` shows them) or --address HOST:PORT")
	}
	c := modbus.DefaultConfig()
	c.Port, c.Address, c.Timeout, c.Transport = b.port, b.address, b.timeout, b.transport
	if c.Transport == "" {
		c.Transport = modbus.TransportTCP
		if b.port != "" {
			c.Transport = modbus.TransportRTU
		}
	}
	c.Serial = modbus.Line{Baud: b.baud, DataBits: b.dataBits, Parity: strings.ToUpper(b.parity), StopBits: b.stopBits}
	if err := c.Validate(nil, nil); err != nil {
		var fes shouwang.FieldErrors
		if !errors.As(err, &fes) {
			return modbus.LinkConfig{}, usagef("%v", err)
		}
		var msgs []string
		for _, fe := range fes {
			field := fe.Field
			if f, ok := flagOf[field]; ok {
				field = f
			}
			msgs = append(msgs, field+": "+fe.Problem)
		}
		return modbus.LinkConfig{}, usagef("%s", strings.Join(msgs, "\n"))
	}
	lc, err := c.Link(nil, nil)
	if err != nil {
		return lc, usagef("%v", err)
	}
	return lc, nil
}

// busName says where a bus is, for messages: "/dev/ttyUSB0 (9600 8N1)" or
// "192.168.1.20:502 (tcp)".
func busName(lc modbus.LinkConfig) string {
	if lc.Transport == modbus.TransportRTU {
		return fmt.Sprintf("%s (%d %d%s%d)", lc.Port, lc.Line.Baud, lc.Line.DataBits, lc.Line.Parity, lc.Line.StopBits)
	}
	return fmt.Sprintf("%s (%s)", lc.Address, lc.Transport)
}

// target is one device: how to reach its bus, its slave id and its
// profile's register map.
type target struct {
	link    modbus.LinkConfig
	slave   byte
	profile string
	model   *modbus.Model
	device  string // the device's id in the config file; "" for the flag form
	file    string // the config file; "" for the flag form
}

func (t *target) String() string {
	name := fmt.Sprintf("slave %d", t.slave)
	if t.device != "" {
		name = fmt.Sprintf("%s (slave %d)", t.device, t.slave)
	}
	return fmt.Sprintf("%s, %s, on %s", name, t.profile, busName(t.link))
}

// targetFlags are what names one device: DEVICE and the config, or a bus,
// a slave id and a profile.
type targetFlags struct {
	fs      *flag.FlagSet
	bus     *busFlags
	config  *string
	id      *int
	profile *string
}

func addTargetFlags(fs *flag.FlagSet) *targetFlags {
	return &targetFlags{
		fs:      fs,
		bus:     addBusFlags(fs, 500*time.Millisecond),
		config:  fs.String("config", defaultConfigFile, "config `file` the DEVICE is in"),
		id:      fs.Int("id", -1, "slave id of the device (with --port or --address)"),
		profile: fs.String("profile", "", "the device's `model`: a profile in firmware-configs/ or --profiles"),
	}
}

// resolve finds the device that pos (DEVICE, or nothing) and the flags
// name.
func (tf *targetFlags) resolve(pos []string) (*target, error) {
	set := map[string]bool{}
	tf.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch len(pos) {
	case 0:
		return tf.fromFlags(set)
	case 1:
		return tf.fromConfig(pos[0], set)
	}
	return nil, usagef("one DEVICE at a time, not %d (%s)", len(pos), strings.Join(pos, " "))
}

func (tf *targetFlags) fromConfig(device string, set map[string]bool) (*target, error) {
	for _, name := range slices.Concat(busFlagNames, []string{"id"}) {
		if set[name] {
			return nil, usagef("--%s is for the --port/--address form: device %s's bus, address and profile come from %s", name, device, *tf.config)
		}
	}
	plan, err := gateway.Load(*tf.config)
	if err != nil {
		return nil, err
	}
	var modbusDevices []string
	for _, dp := range plan.Drivers {
		if dp.Type == "modbus" {
			for _, d := range dp.Devices {
				modbusDevices = append(modbusDevices, d.ID)
			}
		}
	}
	for _, dp := range plan.Drivers {
		for _, d := range dp.Devices {
			if d.ID != device {
				continue
			}
			cfg, ok := dp.Config.(*modbus.Config)
			if !ok {
				return nil, usagef("device %s is on driver %s, a %s driver, not modbus (modbus devices in %s: %s)",
					device, dp.Name, dp.Type, *tf.config, listOrNone(modbusDevices))
			}
			if *tf.profile != "" && *tf.profile != d.Profile {
				return nil, usagef("device %s is a %s in %s, not a %s: check the device, or correct its profile in the config", device, d.Profile, *tf.config, *tf.profile)
			}
			t := &target{profile: d.Profile, device: d.ID, file: *tf.config}
			t.model, _ = dp.Models[d.Profile].(*modbus.Model)
			if t.link, err = cfg.Link(dp.Devices, dp.Models); err != nil {
				return nil, err
			}
			if set["timeout"] {
				t.link.Timeout = tf.bus.timeout
			}
			if t.slave, err = cfg.SlaveID(d); err != nil {
				return nil, err
			}
			return t, nil
		}
	}
	return nil, usagef("no device %q in %s (modbus devices: %s)", device, *tf.config, listOrNone(modbusDevices))
}

func (tf *targetFlags) fromFlags(set map[string]bool) (*target, error) {
	if set["config"] {
		return nil, usagef("--config is for the DEVICE form: name a device of the file, or give --port/--address, --id and --profile")
	}
	lc, err := tf.bus.link()
	if err != nil {
		return nil, err
	}
	lo, hi := slaveRange(lc.Transport)
	switch {
	case !set["id"]:
		return nil, usagef("--id N is needed with --port/--address: the device's slave address (`shouwang modbus scan` finds it)")
	case *tf.id < lo || *tf.id > hi:
		return nil, usagef("--id %d is not a slave address (valid: %d to %d)", *tf.id, lo, hi)
	}
	profiles, err := gateway.LoadProfiles(tf.bus.profiles)
	if err != nil {
		return nil, err
	}
	valid := listOrNone(modbusProfiles(profiles))
	if *tf.profile == "" {
		return nil, usagef("--profile MODEL is needed with --port/--address (valid: %s)", valid)
	}
	p, ok := profiles[*tf.profile]
	if !ok {
		return nil, usagef("no profile %q (valid: %s)", *tf.profile, valid)
	}
	m, ok := p.Drivers["modbus"].(*modbus.Model)
	if !ok {
		return nil, usagef("profile %s has no modbus section, so it cannot be read over Modbus (profiles with one: %s)", *tf.profile, valid)
	}
	return &target{link: lc, slave: byte(*tf.id), profile: *tf.profile, model: m}, nil
}

// slaveRange is the valid slave ids: the unit ids 0 to 255 on Modbus TCP,
// 1 to 247 on a serial line (0 is broadcast).
func slaveRange(transport string) (lo, hi int) {
	if transport == modbus.TransportTCP {
		return 0, 255
	}
	return 1, 247
}

// modbusProfiles lists the profiles with a modbus section, in order.
func modbusProfiles(profiles map[string]*gateway.Profile) []string {
	var out []string
	for name, p := range profiles {
		if _, ok := p.Drivers["modbus"].(*modbus.Model); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// describeErr says what went wrong with one request, briefly, for a cell
// of a table.
func describeErr(err error) string {
	var me *gm.ModbusError
	switch {
	case errors.As(err, &me):
		return fmt.Sprintf("exception %d (%s)", me.ExceptionCode, exceptionName(me))
	case modbus.IsTimeout(err):
		return "no answer (timeout)"
	}
	return err.Error()
}

// exceptionName is goburrow's name for the exception: "illegal data
// address".
func exceptionName(me *gm.ModbusError) string {
	s := me.Error()
	if i, j := strings.Index(s, "("), strings.Index(s, ")"); i >= 0 && j > i {
		return s[i+1 : j]
	}
	return "exception"
}

// ---- modbus scan

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

	link := modbus.NewLink(lc)
	defer link.Close()
	if err := link.Connect(); err != nil {
		return fail(stderr, prefix, fmt.Errorf("cannot open %s: %w", busName(lc), err))
	}
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
	lo, hi := slaveRange(transport)
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
	for _, name := range modbusProfiles(profiles) {
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
			var me *gm.ModbusError
			switch {
			case errors.As(err, &me):
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

// isTerminal says whether f is a terminal (a character device), not a
// file, a pipe or a test's buffer.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
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

// ---- modbus read

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
	link := modbus.NewLink(t.link)
	defer link.Close()
	if err := link.Connect(); err != nil {
		return fail(stderr, prefix, fmt.Errorf("cannot open %s: %w", busName(t.link), err))
	}
	r := &reader{link: link, slave: t.slave}
	// The tables are printed once the device has answered: a device that
	// is not there gets one clear error, not a table of timeouts.
	var out bytes.Buffer
	m := t.model
	fmt.Fprintln(&out, t)
	fmt.Fprintf(&out, "layout: %s\n", m.Layout)

	points := m.PollPoints()
	if len(m.Points) > 0 {
		fmt.Fprintln(&out)
		tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "POINT\tREGISTER\tRAW\tVALUE")
		for i := range m.Points {
			p := &points[i]
			regs, err := r.read(p)
			if r.gone != nil {
				break
			}
			raw, value := cells(p, regs, err)
			fmt.Fprintf(tw, "%s\t%s %d\t%s\t%s\n", p.Name, p.Table, p.Address, raw, value)
		}
		tw.Flush()
	}
	if len(m.Status) > 0 && r.gone == nil {
		fmt.Fprintln(&out)
		tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "STATUS\tREGISTER\tRAW\tBITS AND VALUES\tSET")
		for i, s := range m.Status {
			p := &points[len(m.Points)+i]
			regs, err := r.read(p)
			if r.gone != nil {
				break
			}
			raw, detail, set := "-", "", "-"
			if err != nil {
				detail = describeErr(err)
			} else {
				raw, detail, set = statusCells(&s, regs[0])
			}
			fmt.Fprintf(tw, "%s\t%s %d\t%s\t%s\t%s\n", s.Name, s.Table, s.Address, raw, detail, set)
		}
		tw.Flush()
	}
	if len(m.Settings) > 0 && r.gone == nil {
		fmt.Fprintln(&out)
		tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SETTING\tREGISTER\tRAW\tVALUE\tVALID")
		for i := range m.Settings {
			s := &m.Settings[i]
			p := s.Point(s.Name, s.Unit)
			regs, err := r.read(&p)
			if r.gone != nil {
				break
			}
			raw, value := cells(&p, regs, err)
			fmt.Fprintf(tw, "%s\t%s %d\t%s\t%s\t%s\n", s.Name, s.Table, s.Address, raw, value, s.Range())
		}
		tw.Flush()
	}
	mismatch := ""
	if id := m.Identify; id != nil && r.gone == nil {
		p := id.Point("identify", "")
		regs, err := r.read(&p)
		if r.gone == nil {
			raw, value := "-", ""
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
			fmt.Fprintln(&out)
			tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "IDENTIFY\tREGISTER\tRAW\tVALUE\tEXPECTED")
			fmt.Fprintf(tw, "identify\t%s %d\t%s\t%s\t%q\n", p.Table, p.Address, raw, value, id.Equals)
			tw.Flush()
		}
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

// reader reads one point at a time from a slave and remembers failures;
// gone is set when the device has not answered anything yet and the first
// read got no answer, so the rest are not tried.
type reader struct {
	link     *modbus.Link
	slave    byte
	answered bool
	gone     error
	reads    int
	failed   int
}

func (r *reader) read(p *modbus.Point) ([]uint16, error) {
	r.reads++
	regs, err := modbus.ReadPoint(r.link.Slave(r.slave), p)
	if err != nil {
		r.link.Reset(err)
		var me *gm.ModbusError
		if !r.answered && !errors.As(err, &me) {
			r.gone = err
		}
		r.failed++
		return nil, err
	}
	r.answered = true
	return regs, nil
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
