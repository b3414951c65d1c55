package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shouwang-iot/shouwang/internal/testenv"
	"go.bug.st/serial/enumerator"
)

// The installer's commands against a real pymodbus: over RTU on a socat
// pty pair and over Modbus TCP.

// gasSlave is a gas detector as the built-in profile
// gas-detector-lel-generic reads it: 12.5 %LEL with its low alarm and
// fault bits set, set-points 10 and 20 %LEL, "GD-L" in holding 32-35.
func gasSlave(id byte) testenv.ModbusSlave {
	holding := make([]uint16, 40)
	holding[0], holding[1] = 100, 200
	holding[16], holding[17] = uint16(id), 9600
	holding[32], holding[33] = 0x4744, 0x2D4C // "GD-L"
	return testenv.ModbusSlave{ID: id, Holding: holding, Input: []uint16{125, 0b101}}
}

const gasProfile = "gas-detector-lel-generic"

// runCmd runs the shouwang command line in-process.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	t.Logf("shouwang %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	return code, out.String(), errb.String()
}

// row is the fields of the first line of a table whose first field is
// name, or nil.
func row(out, name string) []string {
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return f
		}
	}
	return nil
}

// wantRow checks that the row starting with name begins with the fields
// want.
func wantRow(t *testing.T, out, name string, want ...string) {
	t.Helper()
	got := row(out, name)
	if len(got) < len(want)+1 || !slices.Equal(got[1:len(want)+1], want) {
		t.Errorf("row %s: %q, want it to start %q", name, got, append([]string{name}, want...))
	}
}

// TestModbusScanRTU scans ids 1-6 of an RS-485 bus (pymodbus RTU on a
// pty): two gas detectors tell themselves apart by their identify string,
// a third slave the profiles do not know still answers (with exception 2
// for the identify registers it lacks), and the ids without a slave are
// left out.
func TestModbusScanRTU(t *testing.T) {
	unknown := testenv.ModbusSlave{ID: 5, Holding: make([]uint16, 10)}
	srv := testenv.StartModbusRTU(t, 9600, gasSlave(1), gasSlave(2), unknown)
	code, out, errs := runCmd(t, "modbus", "scan", "--port", srv.Port, "--baud", "9600", "--parity", "N",
		"--ids", "1-6", "--timeout", "100ms")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	wantRow(t, out, "1", gasProfile, `holding`, `32`, `=`, `"GD-L"`)
	wantRow(t, out, "2", gasProfile, `holding`, `32`, `=`, `"GD-L"`)
	wantRow(t, out, "5", "unknown", "holding", "32:", "exception", "2", "(illegal", "data", "address);")
	if got := scanned(out); !slices.Equal(got, []string{"1", "2", "5"}) {
		t.Errorf("slaves listed: %v, want 1, 2 and 5", got)
	}
	if !strings.Contains(out, "3 slaves answered on "+srv.Port+" (9600 8N1): 2 identified, 1 unknown") {
		t.Errorf("no summary line")
	}
	// stderr is not a terminal: the progress bar is its final line only.
	if !strings.HasSuffix(errs, "scanning 6/6 [####################] found 3\n") || strings.Contains(errs, "\r") {
		t.Errorf("progress on stderr: %q", errs)
	}
}

// scanned lists the slave ids in a scan's table.
func scanned(out string) []string {
	var ids []string
	for line := range strings.Lines(out) {
		if strings.Contains(line, "slaves answered") {
			break
		}
		if f := strings.Fields(line); len(f) > 0 && f[0] != "SLAVE" {
			ids = append(ids, f[0])
		}
	}
	return ids
}

// testProfile is a profile outside firmware-configs that identifies by a
// number rather than a string.
const testProfile = `model: test-meter
vendor: test
type: other
points:
  - {name: level, unit: "%"}
events:
  - {kind: fault, severity: fault}
modbus:
  layout: test meter (level in holding 0, model number 4242 in holding 5)
  slave_id: 1
  serial: {baud: 9600}
  points:
    - {name: level, table: holding, address: 0, type: u16}
  identify: {table: holding, address: 5, type: u16, equals: "4242"}
`

// TestModbusScanTCP scans unit ids behind a Modbus TCP peer with a folder
// of extra profiles: one identifies by a number, and an unknown device's
// row shows what its identify registers hold.
func TestModbusScanTCP(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "test-meter.yaml"), []byte(testProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	meter := testenv.ModbusSlave{ID: 3, Holding: []uint16{55, 0, 0, 0, 0, 4242}}
	other := gasSlave(4)
	other.Holding[32], other.Holding[33] = 0x5A5A, 0x2D39 // "ZZ-9"
	srv := testenv.StartModbusTCP(t, gasSlave(1), meter, other)
	code, out, _ := runCmd(t, "modbus", "scan", "--address", srv.Addr, "--ids", "1-4", "--timeout", "100ms", "--profiles", dir)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	wantRow(t, out, "1", gasProfile)
	wantRow(t, out, "3", "test-meter", "holding", "5", "=", `"4242"`)
	wantRow(t, out, "4", "unknown", "holding", "32", "=", `"ZZ-9";`)
	if got := scanned(out); !slices.Equal(got, []string{"1", "3", "4"}) {
		t.Errorf("units listed: %v, want 1, 3 and 4", got)
	}
}

// TestModbusScanNothing: an empty range of the bus is a clear line and
// exit 1.
func TestModbusScanNothing(t *testing.T) {
	srv := testenv.StartModbusTCP(t, gasSlave(1))
	code, out, _ := runCmd(t, "modbus", "scan", "--address", srv.Addr, "--ids", "7", "--timeout", "100ms")
	if code != 1 || !strings.Contains(out, "no slave answered at ids 7 on "+srv.Addr+" (tcp)") {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}

// TestModbusRead reads a gas detector over Modbus TCP: raw registers in
// hex beside decoded values with units, the status bits with the events
// set, the settings with their valid ranges, and the identify string as
// text.
func TestModbusRead(t *testing.T) {
	srv := testenv.StartModbusTCP(t, gasSlave(1))
	code, out, _ := runCmd(t, "modbus", "read", "--address", srv.Addr, "--id", "1", "--profile", gasProfile)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(out, "slave 1, "+gasProfile+", on "+srv.Addr+" (tcp)\n") {
		t.Errorf("first line: %q", strings.SplitN(out, "\n", 2)[0])
	}
	wantRow(t, out, "gas", "input", "0", "0x007D", "12.5", "%LEL")
	wantRow(t, out, "status", "input", "1", "0x0005", "bit", "0", "low_alarm=1,", "bit", "1", "high_alarm=0,", "bit", "2", "fault=1", "low_alarm,", "fault")
	wantRow(t, out, "low_alarm", "holding", "0", "0x0064", "10.0", "%LEL", "5", "to", "25", "%LEL")
	wantRow(t, out, "high_alarm", "holding", "1", "0x00C8", "20.0", "%LEL", "10", "to", "50", "%LEL")
	wantRow(t, out, "slave_id", "holding", "16", "0x0001", "1", "1", "to", "247")
	wantRow(t, out, "baud", "holding", "17", "0x2580", "9600", "one", "of", "2400,", "4800,", "9600,", "19200")
	wantRow(t, out, "identify", "holding", "32", "0x4744", "0x2D4C", "0x0000", "0x0000", `"GD-L"`, `"GD-L"`)
}

// TestModbusReadFailures: a register the device lacks is shown as its
// exception and the read exits 1; a slave that is not there is one clear
// error, not a table of timeouts.
func TestModbusReadFailures(t *testing.T) {
	short := gasSlave(1)
	short.Holding = short.Holding[:20] // no identify register
	srv := testenv.StartModbusTCP(t, short)
	code, out, errs := runCmd(t, "modbus", "read", "--address", srv.Addr, "--id", "1", "--profile", gasProfile)
	if code != 1 || !strings.Contains(errs, "1 of 7 reads failed") {
		t.Errorf("exit %d; want 1 and the failed read counted", code)
	}
	wantRow(t, out, "gas", "input", "0", "0x007D", "12.5", "%LEL")
	wantRow(t, out, "identify", "holding", "32", "-", "exception", "2", "(illegal", "data", "address)")

	code, out, errs = runCmd(t, "modbus", "read", "--address", srv.Addr, "--id", "9", "--profile", gasProfile, "--timeout", "100ms")
	if code != 1 || out != "" || !strings.Contains(errs, "slave 9 on "+srv.Addr+" (tcp) did not answer") {
		t.Errorf("absent slave: exit %d, stdout %q", code, out)
	}
}

// writeModbusConfig writes a gateway config with one Modbus TCP bus at addr and
// gas detector gas-1 at slave 1 on it.
func writeModbusConfig(t *testing.T, addr string) string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "shouwang.yaml")
	cfg := fmt.Sprintf(`gateway:
  name: test
  data_dir: %s
sites:
  - id: s
    buildings: [{id: "1", floors: 6}]
devices:
  - {id: gas-1, profile: gas-detector-lel-generic, driver: bus, address: "1", location: {building: "1", floor: 3}}
drivers:
  - name: bus
    type: modbus
    transport: tcp
    address: %s
    timeout: 500ms
`, filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestModbusReadConfigDevice reads a device by its id in a config file.
func TestModbusReadConfigDevice(t *testing.T) {
	srv := testenv.StartModbusTCP(t, gasSlave(1))
	file := writeModbusConfig(t, srv.Addr)
	code, out, _ := runCmd(t, "modbus", "read", "gas-1", "--config", file)
	if code != 0 || !strings.HasPrefix(out, "gas-1 (slave 1), "+gasProfile+", on "+srv.Addr+" (tcp)\n") {
		t.Fatalf("exit %d", code)
	}
	wantRow(t, out, "gas", "input", "0", "0x007D", "12.5", "%LEL")
}

// TestInstallerArgErrors: mistakes on the command line are named clearly
// and exit 2 before anything is sent (the buses named here do not exist).
func TestInstallerArgErrors(t *testing.T) {
	file := writeModbusConfig(t, "127.0.0.1:1")
	bus := []string{"--address", "127.0.0.1:1", "--id", "1", "--profile", gasProfile}
	apply := func(args ...string) []string { return slices.Concat([]string{"device", "apply"}, bus, args) }
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"modbus", "scan", "--port", "/dev/null", "--ids", "0-300"}, 2, `--ids "0-300": 0 is not a slave address (valid: 1 to 247)`},
		{[]string{"modbus", "scan", "--port", "/dev/null", "--ids", "1-300"}, 2, `--ids "1-300": 300 is not a slave address (valid: 1 to 247)`},
		{[]string{"modbus", "scan", "--port", "/dev/null", "--ids", "6-1"}, 2, `--ids "6-1": the range 6-1 runs backwards`},
		{[]string{"modbus", "scan", "--port", "/dev/null", "--ids", "1-x"}, 2, `--ids "1-x": "1-x" is not an id or a range of ids`},
		{[]string{"modbus", "scan", "--address", "127.0.0.1:1", "--ids", "0-255,256"}, 2, `256 is not a slave address (valid: 0 to 255)`},
		{[]string{"modbus", "scan", "--port", "/dev/null", "--address", "127.0.0.1:1"}, 2, "give --port (a serial bus) or --address (a TCP device or serial server), not both"},
		{[]string{"modbus", "scan"}, 2, "no bus: give --port /dev/ttyUSB0"},
		{[]string{"modbus", "scan", "--port", "/dev/null", "--baud", "1234"}, 2, "--baud: 1234 is not a standard baud rate"},
		{[]string{"modbus", "scan", "--port", "/dev/null", "--parity", "X"}, 2, `--parity: "X" is not a parity (valid: N, E, O)`},
		{[]string{"modbus", "scan", "--address", "nowhere"}, 2, `--address: "nowhere" is not host:port`},
		{[]string{"modbus", "scan", "--port", "/dev/null", "--profiles", "/no/such/dir"}, 1, `profiles: "/no/such/dir" is not a readable directory`},
		{[]string{"modbus", "read", "--address", "127.0.0.1:1", "--id", "1", "--profile", "nope"}, 2,
			`no profile "nope" (valid: co-detector-generic, fire-panel-modbus-status, gas-detector-lel-generic, smoke-detector-generic)`},
		{[]string{"modbus", "read", "--address", "127.0.0.1:1", "--id", "1"}, 2, "--profile MODEL is needed"},
		{[]string{"modbus", "read", "--address", "127.0.0.1:1", "--profile", gasProfile}, 2, "--id N is needed"},
		{[]string{"modbus", "read", "--port", "/dev/null", "--id", "248", "--profile", gasProfile}, 2, "--id 248 is not a slave address (valid: 1 to 247)"},
		{[]string{"modbus", "read", "nosuch", "--config", file}, 2, `no device "nosuch" in ` + file + " (modbus devices: gas-1)"},
		{[]string{"modbus", "read", "gas-1", "--config", file, "--port", "/dev/null"}, 2, "--port is for the --port/--address form"},
		{[]string{"modbus", "read", "gas-1", "gas-2", "--config", file}, 2, "one DEVICE at a time"},
		{[]string{"modbus", "read", "gas-1", "--config", "/no/such.yaml"}, 1, "no such file"},
		{[]string{"modbus", "frob"}, 2, `unknown command "frob"`},
		{apply("--set", "nope=1"), 2, `--set nope=1: profile gas-detector-lel-generic has no setting "nope" (settings: low_alarm, high_alarm, slave_id, baud)`},
		{apply("--set", "low_alarm=abc"), 2, `--set low_alarm=abc: "abc" is not a number (valid: 5 to 25 %LEL)`},
		{apply("--set", "low_alarm"), 2, `--set "low_alarm": want NAME=VALUE`},
		{apply("--set", "low_alarm=30", "--set", "high_alarm=60"), 2, "--set low_alarm=30: low_alarm: 30"},
		{apply("--set", "low_alarm=30", "--set", "high_alarm=60"), 2, "is out of range (valid: 10 to 50 %LEL)"},
		{apply("--set", "low_alarm=10", "--set", "low_alarm=11"), 2, "low_alarm is set twice"},
		{apply("--set", "baud=1234"), 2, "baud: 1234 is not one of 2400, 4800, 9600, 19200"},
		{apply(), 2, "nothing to apply: give --set NAME=VALUE (settings of gas-detector-lel-generic: low_alarm, high_alarm, slave_id, baud)"},
		{[]string{"device", "apply", "nosuch", "--config", file, "--set", "low_alarm=10"}, 2, `no device "nosuch" in ` + file},
		{[]string{"device", "apply", "gas-1", "--config", file, "--profile", "co-detector-generic", "--set", "low_alarm=10"}, 2,
			"device gas-1 is a gas-detector-lel-generic in " + file + ", not a co-detector-generic"},
		{[]string{"device", "frob"}, 2, `unknown command "frob"`},
		{[]string{"serial"}, 2, "Usage: shouwang serial list"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errs := runCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.err) {
				t.Errorf("exit %d, want %d and stderr containing %q", code, tc.code, tc.err)
			}
		})
	}
}

// TestSerialList prints the ports with their USB details, and a clear
// line when there is none (the list is stood in for: the machine the
// tests run on may have no serial port at all).
func TestSerialList(t *testing.T) {
	real := listPorts
	t.Cleanup(func() { listPorts = real })
	// The real enumerator first: whatever this machine has, it must not fail.
	if code, _, _ := runCmd(t, "serial", "list"); code != 0 {
		t.Errorf("serial list on this machine: exit %d", code)
	}
	listPorts = func(...func(vid, pid string) bool) ([]*enumerator.PortDetails, error) {
		return []*enumerator.PortDetails{
			{Name: "/dev/ttyUSB0", IsUSB: true, VID: "1A86", PID: "7523", SerialNumber: "A10K3", Manufacturer: "QinHeng", Product: "USB Serial"},
			{Name: "/dev/ttyS0"},
		}, nil
	}
	code, out, _ := runCmd(t, "serial", "list")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	wantRow(t, out, "/dev/ttyUSB0", "1A86:7523", "A10K3", "QinHeng", "USB", "Serial")
	wantRow(t, out, "/dev/ttyS0", "-", "-", "-")

	listPorts = func(...func(vid, pid string) bool) ([]*enumerator.PortDetails, error) { return nil, nil }
	code, out, _ = runCmd(t, "serial", "list")
	if code != 0 || !strings.HasPrefix(out, "no serial ports found") {
		t.Errorf("no ports: exit %d, %q", code, out)
	}
}
