package testenv

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pythonPath is the interpreter that sees Debian's python3-pymodbus; the
// python3 first in PATH may be another one (pyenv) without it.
const pythonPath = "/usr/bin/python3"

//go:embed pymodbus_server.py
var pymodbusScript []byte

// commandTimeout bounds how long the Modbus peer may take to answer a
// control command.
const commandTimeout = 5 * time.Second

// ModbusSlave is one unit of a Modbus peer. Every block starts at address
// 0; reading past the end of a block gets exception 2 (illegal address).
type ModbusSlave struct {
	ID       byte
	Holding  []uint16 // holding registers (function 3, 6, 16)
	Input    []uint16 // input registers (function 4)
	Coils    []bool   // coils (function 1, 5, 15)
	Discrete []bool   // discrete inputs (function 2)
}

// ModbusServer is a running pymodbus 3.0.0 peer with one or more units. A
// request for a unit it does not have, or one that is killed, gets no reply
// at all, like a dead slave on a bus.
type ModbusServer struct {
	Addr string   // Modbus TCP: "127.0.0.1:port"; "" for RTU
	Port string   // RTU: the pty the gateway opens; "" for TCP
	Pty  *PtyPair // RTU: the socat pair behind Port; Pty.Unplug pulls the adapter out

	proc       *process
	mode       string // the script's mode: "tcp", "rtu_over_tcp" or "rtu"
	slaves     []ModbusSlave
	stdin      io.WriteCloser
	lines      chan string   // the script's stdout, line by line; closed at EOF
	quit       chan struct{} // closed at cleanup so the reader never blocks
	readerDone chan struct{}
}

// StartModbusTCP starts a Modbus TCP peer serving slaves on 127.0.0.1 and
// returns once it is listening. The port is picked by the kernel when the
// script binds, so no other process can take it first.
func StartModbusTCP(tb testing.TB, slaves ...ModbusSlave) *ModbusServer {
	tb.Helper()
	requirePymodbus(tb)
	s, addr := startModbus(tb, map[string]any{"mode": "tcp"}, slaves)
	s.Addr = addr
	return s
}

// StartModbusRTUOverTCP starts a peer that speaks RTU frames on TCP, like
// the serial servers (RS-485 to Ethernet converters) of older buildings.
func StartModbusRTUOverTCP(tb testing.TB, slaves ...ModbusSlave) *ModbusServer {
	tb.Helper()
	requirePymodbus(tb)
	s, addr := startModbus(tb, map[string]any{"mode": "rtu_over_tcp"}, slaves)
	s.Addr = addr
	return s
}

// Restart stops a peer on TCP (Modbus TCP or RTU over TCP) and starts a
// new one of the same mode on the same address with the slaves' initial
// data, as when a device reboots: connections to the old one are cut. The
// new server is returned; the old one is gone.
func (s *ModbusServer) Restart(tb testing.TB) *ModbusServer {
	tb.Helper()
	if s.Addr == "" {
		tb.Fatalf("testenv: Restart is for peers on TCP, not RTU on a pty")
	}
	s.stdin.Close()
	if err := s.proc.stop(syscall.SIGTERM); err != nil {
		tb.Fatalf("testenv: stop pymodbus: %v", err)
	}
	n, _ := strconv.Atoi(port(s.Addr))
	ns, addr := startModbus(tb, map[string]any{"mode": s.mode, "tcp_port": n}, s.slaves)
	ns.Addr = addr
	return ns
}

// Set writes value into one entry of a slave's table ("hr", "ir", "co",
// "di"; 0 or 1 for the bit tables), as the device itself would when its
// reading changes. It has taken effect when Set returns.
func (s *ModbusServer) Set(tb testing.TB, id byte, table string, addr, value int) {
	tb.Helper()
	if got := s.command(tb, fmt.Sprintf("set %d %s %d %d", id, table, addr, value)); got != "ok" {
		tb.Fatalf("testenv: set Modbus slave %d %s %d: %s", id, table, addr, got)
	}
}

// StartModbusRTU starts a socat pty pair and a Modbus RTU peer (8N1 at baud)
// on one end; the gateway opens Port, the other end. A pty passes bytes at
// memory speed whatever the baud rate, so timing is the client's own.
func StartModbusRTU(tb testing.TB, baud int, slaves ...ModbusSlave) *ModbusServer {
	tb.Helper()
	requirePymodbus(tb)
	pty := StartPtyPair(tb)
	s, _ := startModbus(tb, map[string]any{"mode": "rtu", "port": pty.A, "baud": baud}, slaves)
	s.Port, s.Pty = pty.B, pty
	return s
}

// requirePymodbus reports a missing /usr/bin/python3 or pymodbus like Require.
func requirePymodbus(tb testing.TB) {
	tb.Helper()
	Require(tb, pythonPath)
	if err := pymodbusOnce(); err != nil {
		notInstalled(tb, "python3-pymodbus (for "+pythonPath+")")
	}
}

// pymodbusOnce caches whether /usr/bin/python3 can import pymodbus.
var pymodbusOnce = sync.OnceValue(func() error {
	return exec.Command(pythonPath, "-c", "import pymodbus.server").Run()
})

// startModbus runs the script with cfg plus slaves and returns once it is
// serving, with what it said it serves (the TCP address, or the pty).
func startModbus(tb testing.TB, cfg map[string]any, slaves []ModbusSlave) (*ModbusServer, string) {
	tb.Helper()
	if len(slaves) == 0 {
		tb.Fatalf("testenv: a Modbus server needs at least one slave")
	}
	var units []map[string]any
	seen := map[byte]bool{}
	for _, sl := range slaves {
		if sl.ID < 1 || sl.ID > 247 || seen[sl.ID] {
			tb.Fatalf("testenv: Modbus slave id %d: want unique ids in 1..247", sl.ID)
		}
		seen[sl.ID] = true
		units = append(units, map[string]any{
			"id": sl.ID, "hr": sl.Holding, "ir": sl.Input, "co": sl.Coils, "di": sl.Discrete,
		})
	}
	cfg["slaves"] = units

	dir := tempDir(tb)
	script := filepath.Join(dir, "pymodbus_server.py")
	config := filepath.Join(dir, "config.json")
	logPath := filepath.Join(dir, "pymodbus.log")
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	if err := os.WriteFile(script, pymodbusScript, 0o644); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	if err := os.WriteFile(config, cfgJSON, 0o644); err != nil {
		tb.Fatalf("testenv: %v", err)
	}

	cmd := exec.Command(pythonPath, "-u", script, config)
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	cmd.Stdout = w
	s := &ModbusServer{
		mode:       cfg["mode"].(string),
		slaves:     slaves,
		stdin:      stdin,
		lines:      make(chan string, 16),
		quit:       make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	logOnFailure(tb, "pymodbus", logPath)
	proc, err := startProcess("pymodbus", cmd, logPath)
	w.Close() // the child has its own copy; EOF on r once it exits
	if err != nil {
		r.Close()
		tb.Fatalf("testenv: %v", err)
	}
	s.proc = proc
	go func() {
		defer close(s.readerDone)
		defer close(s.lines)
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case s.lines <- sc.Text():
			case <-s.quit:
				return
			}
		}
	}()
	tb.Cleanup(func() {
		s.stdin.Close() // the script exits at EOF on stdin
		if err := s.proc.stop(syscall.SIGTERM); err != nil {
			tb.Errorf("testenv: %v", err)
		}
		close(s.quit)
		<-s.readerDone
	})

	line, err := s.readLine(startTimeout)
	if err != nil {
		tb.Fatalf("testenv: pymodbus did not start: %v (log: %s)", err, logPath)
	}
	serving, ok := strings.CutPrefix(line, "ready ")
	if !ok {
		tb.Fatalf("testenv: pymodbus said %q, want \"ready ...\" (log: %s)", line, logPath)
	}
	return s, serving
}

// readLine returns the script's next line of output.
func (s *ModbusServer) readLine(timeout time.Duration) (string, error) {
	select {
	case line, ok := <-s.lines:
		if !ok {
			<-s.proc.done
			return "", s.proc.exitedErr()
		}
		return line, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("no answer from pymodbus within %v", timeout)
	}
}

// command sends one control line to the script and returns its answer.
func (s *ModbusServer) command(tb testing.TB, cmd string) string {
	tb.Helper()
	if _, err := io.WriteString(s.stdin, cmd+"\n"); err != nil {
		tb.Fatalf("testenv: pymodbus %q: %v", cmd, err)
	}
	line, err := s.readLine(commandTimeout)
	if err != nil {
		tb.Fatalf("testenv: pymodbus %q: %v", cmd, err)
	}
	return line
}

// KillSlave makes unit id stop answering at once: requests to it get no
// reply. The command has taken effect when KillSlave returns.
func (s *ModbusServer) KillSlave(tb testing.TB, id byte) {
	tb.Helper()
	if got := s.command(tb, "kill "+strconv.Itoa(int(id))); got != "ok" {
		tb.Fatalf("testenv: kill Modbus slave %d: %s", id, got)
	}
}

// ReviveSlave makes a killed unit answer again, with the data it had.
func (s *ModbusServer) ReviveSlave(tb testing.TB, id byte) {
	tb.Helper()
	if got := s.command(tb, "revive "+strconv.Itoa(int(id))); got != "ok" {
		tb.Fatalf("testenv: revive Modbus slave %d: %s", id, got)
	}
}

// Requests returns how many requests each unit has answered since the
// server started (exception replies included; requests to a killed unit
// not). Every configured unit has an entry.
func (s *ModbusServer) Requests(tb testing.TB) map[byte]int {
	tb.Helper()
	line := s.command(tb, "count")
	var raw map[string]int
	if err := json.Unmarshal([]byte(line), &raw); err != nil {
		tb.Fatalf("testenv: pymodbus count: %q: %v", line, err)
	}
	out := make(map[byte]int, len(raw))
	for k, v := range raw {
		id, err := strconv.ParseUint(k, 10, 8)
		if err != nil {
			tb.Fatalf("testenv: pymodbus count: unit %q: %v", k, err)
		}
		out[byte(id)] = v
	}
	return out
}

// RTUFrame is a Modbus RTU frame as it is on the wire: slave id, function
// and data, then their CRC-16/Modbus (initial 0xFFFF, reflected polynomial
// 0xA001), low byte first. Tests use it to play a slave by hand.
func RTUFrame(b ...byte) []byte {
	crc := uint16(0xFFFF)
	for _, x := range b {
		crc ^= uint16(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return append(b, byte(crc), byte(crc>>8))
}
