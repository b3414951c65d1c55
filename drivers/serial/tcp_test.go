package serial

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/serial/gbt26875"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
	"github.com/shouwang-iot/shouwang/mock"
)

// TestGBT26875OverTCP: two UITDs connect to one listener; both number a
// detector 1/1/1-23, told apart by the device placed with the UITD's
// address. Each gets its confirms on its own connection, and a reset at
// one panel clears only that panel's conditions.
func TestGBT26875OverTCP(t *testing.T) {
	leakcheck.Check(t)
	c := DefaultConfig()
	c.Listen, c.Protocol = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), ProtocolGBT26875
	devices := append(building3[:2:2],
		shouwang.Device{ID: "smoke-b5-0101", Address: "77777:1/1/1-23"},
		shouwang.Device{ID: "panel-b5", Address: "77777:panel"})
	rec := &mock.Recorder{}
	d := startDriver(t, c, devices, rec)

	dial := func() net.Conn {
		conn, err := net.Dial("tcp", c.Listen)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		return conn
	}
	b3, b5 := dial(), dial()
	send := func(conn net.Conn, uitd gbt26875.Address, serial uint16, typ byte, o []byte) {
		t.Helper()
		if _, err := conn.Write(uitdFrame(uitd, serial, typ, o)); err != nil {
			t.Fatal(err)
		}
		if got := readN(t, conn, 30); !bytes.Equal(got, confirmOf(uitd, serial)) {
			t.Errorf("UITD %d serial %d: confirm % X, want % X", uitd, serial, got, confirmOf(uitd, serial))
		}
	}
	send(b3, 88888, 1, gbt26875.TypeComponentStatus, componentStatus(1, 23, 0x0002))
	send(b5, 77777, 1, gbt26875.TypeComponentStatus, componentStatus(1, 23, 0x0002))
	rec.WaitFor(t, publishWait, "both fires", has("smoke-1202 fire_alarm", "smoke-b5-0101 fire_alarm"))
	if n := links(t, d); n != 2 {
		t.Errorf("%v connections counted, want 2", n)
	}
	send(b5, 77777, 2, gbt26875.TypeOperation, resetOperation())
	es := rec.WaitFor(t, publishWait, "the reset at b5", has("panel-b5 reset", "smoke-b5-0101 fire_clear")).Events
	for _, e := range es {
		if e.Device == "smoke-1202" && e.Kind == "fire_clear" {
			t.Error("a reset at building 5's panel cleared building 3's fire")
		}
	}
	// A frame that fails its checksum is never answered; the next is.
	bad := uitdFrame(88888, 9, gbt26875.TypeComponentStatus, componentStatus(2, 5, 0x0004))
	bad[len(bad)-3]++
	if _, err := b3.Write(bad); err != nil {
		t.Fatal(err)
	}
	send(b3, 88888, 10, gbt26875.TypeComponentStatus, componentStatus(2, 5, 0x0004))
	rec.WaitFor(t, publishWait, "the fault", has("smoke-3f-hall fault"))
}

// TestIdleConnectionClosed: a UITD silent past idle_timeout is dropped.
func TestIdleConnectionClosed(t *testing.T) {
	leakcheck.Check(t)
	c := DefaultConfig()
	c.Listen, c.Protocol, c.IdleTimeout = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), ProtocolGBT26875, time.Second
	d, err := c.NewDriver(shouwang.DriverEnv{Name: "idle", Devices: building3})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context(), &mock.Recorder{}); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	conn, err := net.Dial("tcp", c.Listen)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("read a byte from a silent connection")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the idle connection was not closed")
	}
}
