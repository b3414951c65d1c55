package main

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	gm "github.com/goburrow/modbus"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// `shouwang device apply` against a real pymodbus, which stores the writes
// it is sent (functions 5, 6 and 16) in its data blocks.

// wantHolding checks holding register address of slave id of srv, read
// with a client of its own; when says at what point of the test.
func wantHolding(t *testing.T, srv *testenv.ModbusServer, id byte, address, want uint16, when string) {
	t.Helper()
	h := gm.NewTCPClientHandler(srv.Addr)
	h.SlaveId, h.Timeout = id, time.Second
	defer h.Close()
	b, err := gm.NewClient(h).ReadHoldingRegisters(address, 1)
	if err != nil {
		t.Fatalf("read holding %d of slave %d: %v", address, id, err)
	}
	if got := uint16(b[0])<<8 | uint16(b[1]); got != want {
		t.Errorf("holding %d of slave %d is %d %s, want %d", address, id, got, when, want)
	}
}

// applyCmd runs `shouwang device apply` with stdin.
func applyCmd(t *testing.T, stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cmdDevice(append([]string{"apply"}, args...), stdin, &out, &errb)
	t.Logf("shouwang device apply %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	return code, out.String(), errb.String()
}

// applyGas runs `shouwang device apply` on the gas detector at slave 1 of
// srv, a Modbus TCP server, answering its question with stdin.
func applyGas(t *testing.T, srv *testenv.ModbusServer, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return applyCmd(t, strings.NewReader(stdin), slices.Concat([]string{"--address", srv.Addr, "--id", "1", "--profile", gasProfile}, args)...)
}

// TestApplyWritesAndReadsBack sets low_alarm over Modbus TCP: the dry run
// shows current, new and valid range, a setting that already holds its
// value is not written, and the new value is written and read back.
func TestApplyWritesAndReadsBack(t *testing.T) {
	srv := testenv.StartModbusTCP(t, gasSlave(1))
	code, out, _ := applyGas(t, srv, "", "--set", "low_alarm=12", "--set", "high_alarm=20", "--yes")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	wantRow(t, out, "low_alarm", "10.0", "%LEL", "12.0", "%LEL", "5", "to", "25", "%LEL")
	wantRow(t, out, "high_alarm", "20.0", "%LEL", "20.0", "%LEL", "10", "to", "50", "%LEL", "unchanged:", "not", "written")
	if !strings.Contains(out, "low_alarm: 10.0 %LEL -> 12.0 %LEL written and read back\n") || strings.Contains(out, "high_alarm: ") {
		t.Errorf("want low_alarm written and read back, high_alarm left alone")
	}
	// Two reads of the current values, one write, one read-back.
	if n := srv.Requests(t)[1]; n != 4 {
		t.Errorf("slave 1 got %d requests, want 4", n)
	}
	wantHolding(t, srv, 1, 0, 120, "after the write of 12.0 %LEL")
}

// TestApplyRefusesOutOfRange: a value outside the profile's range is
// refused before anything is sent, even with --yes.
func TestApplyRefusesOutOfRange(t *testing.T) {
	srv := testenv.StartModbusTCP(t, gasSlave(1))
	code, out, errs := applyGas(t, srv, "", "--set", "low_alarm=12", "--set", "high_alarm=60", "--yes")
	if code != 2 || out != "" || !strings.Contains(errs, "high_alarm: 60") || !strings.Contains(errs, "out of range (valid: 10 to 50 %LEL)") ||
		!strings.Contains(errs, "nothing was written") {
		t.Errorf("exit %d; want 2 and high_alarm's range named", code)
	}
	if n := srv.Requests(t)[1]; n != 0 {
		t.Errorf("slave 1 got %d requests, want none", n)
	}
	wantHolding(t, srv, 1, 0, 100, "after a refused apply")
}

// TestApplyAsksFirst: without --yes the change is written only after "y".
func TestApplyAsksFirst(t *testing.T) {
	srv := testenv.StartModbusTCP(t, gasSlave(1))
	code, _, errs := applyGas(t, srv, "n\n", "--set", "low_alarm=15")
	if code != 1 || !strings.Contains(errs, "[y/N] n\nnot confirmed: nothing was written") {
		t.Errorf("answered n: exit %d", code)
	}
	wantHolding(t, srv, 1, 0, 100, "after answering n")
	if code, _, _ := applyGas(t, srv, "", "--set", "low_alarm=15"); code != 1 {
		t.Errorf("no answer at all (stdin closed): exit %d, want 1", code)
	}
	wantHolding(t, srv, 1, 0, 100, "with stdin closed")
	if code, _, _ := applyGas(t, srv, "y\n", "--set", "low_alarm=15"); code != 0 {
		t.Errorf("answered y: exit %d", code)
	}
	wantHolding(t, srv, 1, 0, 150, "after answering y")
}

// TestApplySlaveID changes a detector's address and reads it back at the
// new one. pymodbus cannot move a unit to another id, so unit 7 stands in
// for the detector once it has moved; the write itself goes to unit 1.
func TestApplySlaveID(t *testing.T) {
	srv := testenv.StartModbusTCP(t, gasSlave(1), gasSlave(7))
	code, out, _ := applyGas(t, srv, "", "--set", "slave_id=7", "--yes")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	wantRow(t, out, "slave_id", "1", "7", "1", "to", "247", "the", "device", "answers", "at", "7", "at", "once")
	if !strings.Contains(out, "slave_id: 1 -> 7 written and read back at slave 7\n") || !strings.Contains(out, "use --id 7 from now on") {
		t.Errorf("want the read-back at slave 7 reported")
	}
	if n := srv.Requests(t); n[1] != 2 || n[7] != 1 {
		t.Errorf("requests %v: want the current value and the write at 1, the read-back at 7", n)
	}
	wantHolding(t, srv, 1, 16, 7, "after writing slave_id 7 to it")
}

// TestApplyNotTaken: a write the device does not hold when read back, or
// whose read-back gets no answer, fails loudly: exit 1, and the message
// names the setting, what was written and what was read.
func TestApplyNotTaken(t *testing.T) {
	elsewhere := gasSlave(8)
	elsewhere.Holding[16] = 3 // at address 8 answers a device whose address register says 3
	srv := testenv.StartModbusTCP(t, gasSlave(1), elsewhere)
	code, _, errs := applyGas(t, srv, "", "--timeout", "100ms", "--yes", "--set", "low_alarm=12", "--set", "slave_id=8")
	want := "shouwang device apply: FAILED: setting slave_id: wrote 8 (holding 16: 0x0008), read back 3 (0x0003): the device did not take it (written to slave 1, read back at slave 8)"
	if code != 1 || !strings.Contains(errs, want) || !strings.Contains(errs, "written and read back before it: low_alarm; not written: none") {
		t.Errorf("exit %d; want 1 and\n%s", code, want)
	}

	code, _, errs = applyGas(t, srv, "", "--timeout", "100ms", "--yes", "--set", "slave_id=9")
	if code != 1 || !strings.Contains(errs, "FAILED: slave_id = 9 (holding 16: 0x0009) was written to slave 1, but reading it back at slave 9 failed") ||
		!strings.Contains(errs, "the device may not have taken it") {
		t.Errorf("no answer at the new address: exit %d, want 1 and the read-back at 9 named", code)
	}
}

// killOnRead stands for an installer who answers "y" just as the device
// dies: the slave is killed when the answer is read.
type killOnRead struct {
	t   *testing.T
	srv *testenv.ModbusServer
	r   io.Reader
}

func (k *killOnRead) Read(p []byte) (int, error) {
	if k.r == nil {
		k.srv.KillSlave(k.t, 1)
		k.r = strings.NewReader("y\n")
	}
	return k.r.Read(p)
}

// TestApplyWriteFails: a write that gets no answer, and a setting whose
// register the device lacks, fail with exit 1 and say so.
func TestApplyWriteFails(t *testing.T) {
	srv := testenv.StartModbusTCP(t, gasSlave(1))
	code, _, errs := applyCmd(t, &killOnRead{t: t, srv: srv}, "--address", srv.Addr, "--id", "1", "--profile", gasProfile,
		"--timeout", "100ms", "--set", "low_alarm=12")
	if code != 1 || !strings.Contains(errs, "FAILED: no good answer from slave 1 to low_alarm = 12.0 %LEL (holding 0: 0x0078)") ||
		!strings.Contains(errs, "timeout") {
		t.Errorf("device died before the write: exit %d, want 1 and the write named", code)
	}

	short := gasSlave(2)
	short.Holding = short.Holding[:1] // holding 0 only: no high_alarm register
	srv = testenv.StartModbusTCP(t, short)
	code, _, errs = runCmd(t, "device", "apply", "--address", srv.Addr, "--id", "2", "--profile", gasProfile,
		"--set", "low_alarm=12", "--set", "high_alarm=20", "--yes")
	if code != 1 || !strings.Contains(errs, "cannot read the current high_alarm") || !strings.Contains(errs, "exception '2' (illegal data address)") ||
		!strings.Contains(errs, "nothing was written") {
		t.Errorf("register past the device's block: exit %d, want 1 and high_alarm named", code)
	}
	wantHolding(t, srv, 2, 0, 100, "when one setting cannot be read (nothing may be written)")
}

// TestApplyBaudRTU sets the line speed on an RS-485 bus (pymodbus RTU on
// a pty): it is read back at the old speed, and the output says it is
// taken at the next power cycle.
func TestApplyBaudRTU(t *testing.T) {
	srv := testenv.StartModbusRTU(t, 9600, gasSlave(1))
	code, out, _ := runCmd(t, "device", "apply", "--port", srv.Port, "--baud", "9600", "--id", "1", "--profile", gasProfile,
		"--set", "baud=19200", "--yes")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	wantRow(t, out, "baud", "9600", "19200", "one", "of", "2400,", "4800,", "9600,", "19200", "taken", "after", "a", "power", "cycle")
	if !strings.Contains(out, "baud: 9600 -> 19200 written and read back\n") ||
		!strings.Contains(out, "baud 19200 is taken when the device is power-cycled; until then it answers at 9600 baud") {
		t.Errorf("want the read-back and the power cycle reported")
	}
}

// TestApplyConfigDevice sets a device of a config file by its id; its new
// address is to be written into the config.
func TestApplyConfigDevice(t *testing.T) {
	srv := testenv.StartModbusTCP(t, gasSlave(1), gasSlave(7))
	file := writeModbusConfig(t, srv.Addr)
	code, out, _ := runCmd(t, "device", "apply", "gas-1", "--config", file, "--profile", gasProfile,
		"--set", "slave_id=7", "--set", "low_alarm=15", "--yes")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	// The address goes last, whatever the order on the command line.
	i, j := strings.Index(out, "low_alarm: 10.0 %LEL -> 15.0 %LEL written"), strings.Index(out, "slave_id: 1 -> 7 written and read back at slave 7")
	if i < 0 || j < i {
		t.Errorf("want low_alarm written, then slave_id")
	}
	if !strings.Contains(out, `set address: "7" for device gas-1 in `+file) {
		t.Errorf("want the config's address named")
	}
	wantHolding(t, srv, 1, 0, 150, "after the apply")
}
