package gateway

import (
	"encoding/json"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang/drivers/serial/gbt26875"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// panelOverTCP is building 3's fire panel reporting through its UITD to
// the gateway's GB/T 26875.3 listener, with the suggested rules of the
// shipped profiles.
const panelOverTCP = `
gateway: {name: gw, profile_rules: true}
sites:
  - {id: s, name: 小区, grid: G1, buildings: [{id: "3", units: 2, floors: 18}]}
devices:
  - {id: smoke-1202, profile: panel-loop-detector, driver: uitds, address: "1/1/1-23", location: {building: "3", unit: 2, floor: 12, room: "1202"}}
  - {id: smoke-3f-hall, profile: panel-loop-detector, driver: uitds, address: "1/1/2-5", location: {building: "3", unit: 2, floor: 3}}
  - {id: panel-b3, profile: fire-panel-uitd, driver: uitds, address: panel, location: {building: "3", unit: 1, floor: 1}}
drivers:
  - {name: uitds, type: serial, listen: "127.0.0.1:%d", protocol: gbt26875}
`

// TestFirePanelRaisesAlarms: a detector's fire alarm from the panel
// becomes a fire alarm on the duty room's desk with its room, a fault
// stays a fault, and both are confirmed to the UITD.
func TestFirePanelRaisesAlarms(t *testing.T) {
	leakcheck.Check(t)
	port := testenv.FreePort(t)
	url, _, stop := runConfig(t, fmt.Appendf(nil, panelOverTCP, port), t.TempDir())
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	testenv.CheckFor(t, 10*time.Second, "readiness (the driver listening)", func() bool { code, _ := get(t, url+"/readyz"); return code == 200 })
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	now := time.Now()
	status := func(serial uint16, loop, point, bits uint16) {
		o := []byte{1, 1, 42, byte(loop), byte(loop >> 8), byte(point), byte(point >> 8), byte(bits), byte(bits >> 8)}
		o = append(o, make([]byte, 31)...)
		l := gbt26875.TimeLabel(now.In(time.FixedZone("CST", 8*3600)))
		o = append(o, l[:]...)
		f := gbt26875.AppendFrame(nil, gbt26875.Header{Serial: serial, Version: [2]byte{1, 1}, Time: l, Source: 88888, Dest: 1,
			Command: gbt26875.CmdSend}, append([]byte{gbt26875.TypeComponentStatus, 1}, o...))
		if _, err := conn.Write(f); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		reply := make([]byte, 30)
		if _, err := readFull(conn, reply); err != nil || reply[26] != gbt26875.CmdConfirm || reply[2] != byte(serial) {
			t.Fatalf("no confirm for serial %d: % X, %v", serial, reply, err)
		}
	}
	status(1, 1, 23, 0x0002) // fire
	status(2, 2, 5, 0x0004)  // fault
	var desk struct {
		Alarms []struct {
			Device, Rule, Severity string
			Location               struct{ Room string }
		}
	}
	testenv.CheckFor(t, 10*time.Second, "the fire and the fault on the desk", func() bool {
		_, body := get(t, url+"/api/v1/alarms")
		if err := json.Unmarshal([]byte(body), &desk); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return len(desk.Alarms) >= 2
	})
	got := map[string]string{}
	for _, a := range desk.Alarms {
		got[a.Device] = a.Rule + " " + a.Severity + " room " + a.Location.Room
	}
	if want := "panel-loop-fire fire room 1202"; got["smoke-1202"] != want {
		t.Errorf("the detector's alarm is %q, want %q", got["smoke-1202"], want)
	}
	if want := "panel-loop-fault fault room "; got["smoke-3f-hall"] != want {
		t.Errorf("the hall detector's alarm is %q, want %q (a fault is not a fire)", got["smoke-3f-hall"], want)
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
