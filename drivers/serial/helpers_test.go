package serial

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/serial/gbt26875"
	"github.com/shouwang-iot/shouwang/mock"
)

var beijing = time.FixedZone("CST", 8*3600)

// fixedNow is the clock the drivers in these tests read: confirm frames
// carry its time, so the test knows them byte for byte.
var fixedNow = time.Date(2026, 11, 24, 8, 15, 30, 0, beijing)

// building3 places two detectors on loop 1 and 2 and the panel.
var building3 = []shouwang.Device{
	{ID: "smoke-1202", Type: "smoke", Address: "1/1/1-23", Location: shouwang.Location{Building: "3", Unit: "2", Floor: 12, Room: "1202"}},
	{ID: "smoke-3f-hall", Type: "smoke", Address: "1/1/2-5", Location: shouwang.Location{Building: "3", Unit: "2", Floor: 3}},
	{ID: "panel-b3", Type: "panel", Address: "panel", Location: shouwang.Location{Building: "3"}},
}

// startDriver validates c, builds the driver on devices and starts it.
func startDriver(t *testing.T, c Config, devices []shouwang.Device, pub shouwang.Publisher) *Driver {
	t.Helper()
	if err := c.Validate(devices, nil); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	drv, err := c.NewDriver(shouwang.DriverEnv{Name: "test", Devices: devices, Now: func() time.Time { return fixedNow },
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	d := drv.(*Driver)
	if err := d.Start(context.Background(), pub); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// publishWait is how long a test waits for the driver to publish what
// it expects.
const publishWait = 10 * time.Second

// has says whether es holds "device kind" for each of want.
func has(want ...string) func(mock.Recorded) bool {
	return func(r mock.Recorded) bool {
		got := eventList(r.Events)
		for _, w := range want {
			if !slices.Contains(got, w) {
				return false
			}
		}
		return true
	}
}

func eventList(es []shouwang.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Device + " " + e.Kind
	}
	return out
}

// uitdFrame is a send-data frame of one object from a UITD, at fixedNow.
func uitdFrame(uitd gbt26875.Address, serial uint16, typ byte, object []byte) []byte {
	return gbt26875.AppendFrame(nil, gbt26875.Header{Serial: serial, Version: [2]byte{1, 1}, Time: gbt26875.TimeLabel(fixedNow),
		Source: uitd, Dest: 1, Command: gbt26875.CmdSend}, append([]byte{typ, 1}, object...))
}

// componentStatus is a type 2 object: system 1/1, a point smoke detector.
func componentStatus(loop, point, status uint16) []byte {
	o := []byte{1, 1, 42, byte(loop), byte(loop >> 8), byte(point), byte(point >> 8), byte(status), byte(status >> 8)}
	o = append(o, make([]byte, 31)...)
	l := gbt26875.TimeLabel(fixedNow.Add(-10 * time.Second))
	return append(o, l[:]...)
}

// resetOperation is a type 4 object: reset pressed at panel 1/1.
func resetOperation() []byte {
	l := gbt26875.TimeLabel(fixedNow.Add(-5 * time.Second))
	return append([]byte{1, 1, 0x01, 7}, l[:]...)
}

// confirmOf is the confirm frame the gateway owes for frame f.
func confirmOf(uitd gbt26875.Address, serial uint16) []byte {
	return gbt26875.AppendFrame(nil, gbt26875.Header{Serial: serial, Version: [2]byte{1, 1}, Time: gbt26875.TimeLabel(fixedNow),
		Source: 1, Dest: uitd, Command: gbt26875.CmdConfirm}, nil)
}
