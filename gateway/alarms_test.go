package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/shouwang-iot/shouwang/deploy"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// alarmTopic is the demo gateway's MQTT topic prefix.
const alarmTopic = "shouwang/sunshine-garden"

// faultNow is the example config with its stair detector's fault at once
// and over within seconds, the gas leak out of the way, and the alarms
// published to mq.
func faultNow(mq *testenv.Mosquitto) []byte {
	src := string(deploy.Example)
	src = strings.Replace(src, "        at: 30s\n", "        at: 10h\n", 1)
	src = strings.Replace(src, "        at: 1m\n        for: 2m\n", "        at: 0s\n        for: 2s\n", 1)
	return []byte(strings.Replace(src, "    - name: duty-room\n", fmt.Sprintf(`    - name: room
      broker: ssl://%s
      username: %s
      password: %s
      ca: %s
`, mq.TLSAddr, mq.User, mq.Password, mq.CAFile), 1))
}

// TestAlarmLoopThroughTheGateway runs the whole gateway against a real
// Mosquitto: the simulated detector's fault raises a fault alarm (not a
// fire), the duty officer works it to closed through the HTTP API, each
// step is published on the alarm's MQTT topic, and after a restart the
// closed alarm and its history are still there.
func TestAlarmLoopThroughTheGateway(t *testing.T) {
	leakcheck.Check(t)
	mq := testenv.StartMosquitto(t)
	msgs := make(chan paho.Message, 1000)
	sub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + mq.Addr).SetClientID("console").
		SetUsername(mq.User).SetPassword(mq.Password))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe(alarmTopic+"/alarms/#", 1, func(_ paho.Client, m paho.Message) { msgs <- m }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	type message struct {
		Alarm    uint64
		Kind     string
		Rule     string
		Device   string
		Severity string
		Operator string
		Location struct{ Building, Room string }
	}
	await := func(kind string) message {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case m := <-msgs:
				var v message
				if err := json.Unmarshal(m.Payload(), &v); err != nil {
					t.Fatalf("%s: %v", m.Topic(), err)
				}
				if v.Kind == kind {
					if want := fmt.Sprintf("%s/alarms/%d/%s", alarmTopic, v.Alarm, kind); m.Topic() != want {
						t.Fatalf("published on %s, want %s", m.Topic(), want)
					}
					return v
				}
			case <-deadline:
				t.Fatalf("no %s message within 30s", kind)
			}
		}
	}

	dir := t.TempDir()
	base, _, stop := runConfig(t, faultNow(mq), dir)
	running := true
	defer func() {
		if running {
			stop()
		}
	}()
	raised := await("raised")
	if raised.Rule != "device-fault" || raised.Device != "1-stair-f4-smoke" || raised.Severity != "fault" ||
		raised.Location.Building != "1号楼" || raised.Location.Room != "楼梯间" {
		t.Fatalf("raised: %+v", raised)
	}
	await("returned") // the detector reported its fault gone
	url := fmt.Sprintf("%s/api/v1/alarms/%d/", base, raised.Alarm)
	for _, step := range []struct{ action, kind, body string }{
		{"acknowledge", "acknowledged", `{"operator":"王警官","note":"收到"}`},
		{"dispatch", "dispatched", `{"operator":"王警官","note":"物业电工"}`},
		{"resolve", "resolved", `{"operator":"王警官","note":"探测器已清洁"}`},
		{"close", "closed", `{"operator":"王警官"}`},
	} {
		if code, body := do(t, "POST", url+step.action, step.body); code != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", step.action, code, body)
		}
		if m := await(step.kind); m.Operator != "王警官" || m.Alarm != raised.Alarm {
			t.Fatalf("%s: %+v", step.kind, m)
		}
	}
	running = false
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	base, _, stop2 := runConfig(t, faultNow(mq), dir)
	defer stop2()
	code, body := get(t, fmt.Sprintf("%s/api/v1/alarms/%d", base, raised.Alarm))
	var one struct {
		Alarm   struct{ State string }
		History []struct{ Kind, Operator string }
	}
	json.Unmarshal([]byte(body), &one)
	var kinds []string
	for _, h := range one.History {
		kinds = append(kinds, h.Kind)
	}
	if code != http.StatusOK || one.Alarm.State != "closed" ||
		strings.Join(kinds, ",") != "raised,returned,acknowledged,dispatched,resolved,closed" {
		t.Fatalf("after a restart: HTTP %d, state %q, history %v", code, one.Alarm.State, kinds)
	}
}

// TestDemoLeakEscalates runs the demo's scripted gas leak, sped up: the
// kitchen detector raises a warning, then an alarm (the same episode),
// and with nobody acknowledging it escalates to level 2.
func TestDemoLeakEscalates(t *testing.T) {
	leakcheck.Check(t)
	src := string(deploy.Example)
	src = strings.Replace(src, "        at: 30s\n        for: 15m\n        peak: 40\n        rise: 1m\n", "        at: 3s\n        for: 15m\n        peak: 40\n        rise: 6s\n", 1)
	src = strings.Replace(src, "  escalation: [2m, 5m, 10m]\n", "  escalation: [6s, 5m, 10m]\n", 1)
	_, g, stop := runConfig(t, []byte(src), t.TempDir())
	defer stop()
	feed, unsubscribe := g.desk.Subscribe(100)
	defer unsubscribe()
	var got []string
	deadline := time.After(30 * time.Second)
	for len(got) < 3 {
		select {
		case m := <-feed:
			if m.Device == "1202-kitchen-gas" {
				got = append(got, fmt.Sprintf("%s %s L%d", m.Kind, m.Severity, m.Escalation))
				if m.Location.Room != "1202" || m.AlarmID != 1 || m.Unit != "%LEL" {
					t.Fatalf("message %+v", m)
				}
			}
		case <-deadline:
			t.Fatalf("after 30s: %v", got)
		}
	}
	if want := "[raised warning L1 updated alarm L1 escalated alarm L2]"; fmt.Sprint(got) != want {
		t.Errorf("the leak's alarm went %v, want %s", got, want)
	}
}
