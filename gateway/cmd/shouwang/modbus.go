package main

// The installer's Modbus commands: `modbus scan` (modbus_scan.go), `modbus
// read` (modbus_read.go) and `device apply` (apply.go). This file holds
// what they share: the command line's errors and exit codes, the bus flags,
// and how the one device a command is about is found, by its id in the
// config file or by a bus, a slave id and a profile.
//
// Exit codes: 0 done; 1 the bus, the device or the config file failed;
// 2 the command line is wrong, and nothing was sent on the bus.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	gm "github.com/goburrow/modbus"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/modbus"
	"github.com/shouwang-iot/shouwang/gateway"
)

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

// openLink opens the bus; the caller closes the link.
func openLink(lc modbus.LinkConfig) (*modbus.Link, error) {
	link := modbus.NewLink(lc)
	if err := link.Connect(); err != nil {
		link.Close()
		return nil, fmt.Errorf("cannot open %s: %w", busName(lc), err)
	}
	return link, nil
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
	// modbusDevices lists the file's modbus devices, for a message.
	modbusDevices := func() string {
		var ids []string
		for _, dp := range plan.Drivers {
			if dp.Type == "modbus" {
				for _, d := range dp.Devices {
					ids = append(ids, d.ID)
				}
			}
		}
		return listOrNone(ids)
	}
	for _, dp := range plan.Drivers {
		for _, d := range dp.Devices {
			if d.ID != device {
				continue
			}
			cfg, ok := dp.Config.(*modbus.Config)
			if !ok {
				return nil, usagef("device %s is on driver %s, a %s driver, not modbus (modbus devices in %s: %s)",
					device, dp.Name, dp.Type, *tf.config, modbusDevices())
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
	return nil, usagef("no device %q in %s (modbus devices: %s)", device, *tf.config, modbusDevices())
}

func (tf *targetFlags) fromFlags(set map[string]bool) (*target, error) {
	if set["config"] {
		return nil, usagef("--config is for the DEVICE form: name a device of the file, or give --port/--address, --id and --profile")
	}
	lc, err := tf.bus.link()
	if err != nil {
		return nil, err
	}
	lo, hi := modbus.SlaveRange(lc.Transport)
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
	valid := listOrNone(gateway.ProfilesWith(profiles, "modbus"))
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

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// describeErr says what went wrong with one request, briefly, for a cell
// of a table.
func describeErr(err error) string {
	if me := modbus.Exception(err); me != nil {
		return fmt.Sprintf("exception %d (%s)", me.ExceptionCode, exceptionName(me))
	}
	if modbus.IsTimeout(err) {
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
