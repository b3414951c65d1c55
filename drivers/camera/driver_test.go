package camera

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/goccy/go-yaml"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/camera/facade"
	"github.com/shouwang-iot/shouwang/drivers/camera/report"
	firmwareconfigs "github.com/shouwang-iot/shouwang/firmware-configs"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
	"github.com/shouwang-iot/shouwang/internal/testenv"
	"github.com/shouwang-iot/shouwang/mock"
)

// rig is a started driver with two cameras on one building's façade.
type rig struct {
	url   string
	scene facade.Scene
	rng   *rand.Rand
	rec   *mock.Recorder
	clock *mock.Clock
	dir   string
}

func genericModel(t *testing.T) *report.Model {
	t.Helper()
	src, err := firmwareconfigs.FS.ReadFile("camera-throw-generic-json.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Camera report.Model `yaml:"camera"`
	}
	if err := yaml.Unmarshal(src, &p); err != nil {
		t.Fatal(err)
	}
	if err := p.Camera.Validate(); err != nil {
		t.Fatal(err)
	}
	return &p.Camera
}

// startRig starts the driver; pub, if set, stands between it and the
// recorder.
func startRig(t *testing.T, change func(*Config), pub func(*mock.Recorder) shouwang.Publisher) *rig {
	t.Helper()
	leakcheck.Check(t)
	r := &rig{rng: rand.New(rand.NewPCG(9, 9)), rec: &mock.Recorder{}, clock: mock.NewClock(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)), dir: t.TempDir()}
	r.scene = facade.RandomScene(r.rng)
	cfg := DefaultConfig()
	cfg.Listen = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg.Cameras = map[string]*Camera{"cam-south": {Token: "s", Calibration: r.scene.Calibration}, "cam-north": {Token: "n", Calibration: r.scene.Calibration}}
	if change != nil {
		change(&cfg)
	}
	devices := []shouwang.Device{
		{ID: "cam-south", Profile: "generic", Location: shouwang.Location{Community: "c", Building: "3"}},
		{ID: "cam-north", Profile: "generic", Location: shouwang.Location{Community: "c", Building: "3"}},
	}
	models := map[string]shouwang.ModelConfig{"generic": genericModel(t)}
	if err := cfg.Validate(devices, models); err != nil {
		t.Fatal(err)
	}
	d, _ := cfg.NewDriver(shouwang.DriverEnv{Name: "cams", Devices: devices, Models: models, Now: r.clock.Now, Dir: r.dir})
	var p shouwang.Publisher = r.rec
	if pub != nil {
		p = pub(r.rec)
	}
	if err := d.Start(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	r.url = "http://" + cfg.Listen
	return r
}

// throw is a generated throw the trace names the right window of.
func (r *rig) throw(t *testing.T) facade.Throw {
	for {
		th := r.scene.Throw(r.rng, false)
		if tr := r.scene.Calibration.Trace(th.Track); tr.Window != nil && tr.Window.Floor == th.Window.Floor && tr.Window.Column == th.Window.Column {
			return th
		}
	}
}

func document(th facade.Throw, images ...[]byte) []byte {
	b, _ := json.Marshal(map[string]any{"track": th.Track, "images": images}) // []byte marshals as base64
	return b
}

func (r *rig) post(t *testing.T, camera, token, contentType string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", r.url+"/events/"+camera, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.SetBasicAuth("camera", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Two cameras reporting one throw within the merge window give one
// incident with both pictures; a later throw from the same window links
// to it.
func TestMergeAndLink(t *testing.T) {
	r := startRig(t, nil, nil)
	th := r.throw(t)
	var res [3]result
	pictures := map[string][]byte{}
	for i, cam := range []string{"cam-south", "cam-north"} {
		var pic bytes.Buffer
		jpeg.Encode(&pic, image.NewGray(image.Rect(0, 0, 16+8*i, 16)), nil)
		pictures[cam] = pic.Bytes()
		code, body := r.post(t, cam, cam[4:5], "application/json", document(th, pic.Bytes()))
		if code != 200 || json.Unmarshal([]byte(body), &res[i]) != nil {
			t.Fatalf("%s: %d %s", cam, code, body)
		}
		r.clock.Add(time.Second)
	}
	if res[1].Incident != res[0].Incident || !res[1].Merged || len(res[1].Evidence) != 2 {
		t.Fatalf("second camera: %+v, want merged into %s with both pictures", res[1], res[0].Incident)
	}
	evs := r.rec.Events()
	if len(evs) != 4 || evs[2].Attrs["cameras"] != "cam-south,cam-north" || evs[2].Attrs["window"] != th.Window.Label() {
		t.Fatalf("events %+v", evs)
	}
	for _, p := range res[1].Evidence {
		name := strings.TrimPrefix(p, "/api/v1/evidence/cams/")
		cam := "cam-south"
		if strings.Contains(name, "cam-north") {
			cam = "cam-north"
		}
		if b, err := os.ReadFile(filepath.Join(r.dir, "evidence", name)); err != nil || !bytes.Equal(b, pictures[cam]) {
			t.Errorf("evidence %s: %d bytes, %v; want %s's picture", p, len(b), err, cam)
		}
	}
	r.clock.Add(time.Hour)
	code, body := r.post(t, "cam-south", "s", "application/json", document(th))
	if code != 200 || json.Unmarshal([]byte(body), &res[2]) != nil || res[2].Incident == res[0].Incident {
		t.Fatalf("later throw: %d %s", code, body)
	}
	if ev := r.rec.Events()[4]; ev.Attrs["linked"] != res[0].Incident || !strings.Contains(ev.Message, "1 earlier throw") {
		t.Errorf("later throw from %s: linked %q, message %q; want linked to %s", th.Window.Label(), ev.Attrs["linked"], ev.Message, res[0].Incident)
	}
	if ev := r.rec.Events()[5]; ev.Kind != "object_thrown_clear" {
		t.Errorf("a throw is followed by its clear, got %s", ev.Kind)
	}
}

func TestHTTPRefusals(t *testing.T) {
	r := startRig(t, func(c *Config) { c.MaxBody = 4 << 10 }, nil)
	th := r.throw(t)
	cases := []struct {
		name, camera, token, contentType string
		body                             []byte
		code                             int
		says                             string
	}{
		{"unknown camera", "cam-east", "s", "application/json", document(th), 404, "no camera"},
		{"no token", "cam-south", "", "application/json", document(th), 401, "token"},
		{"another camera's token", "cam-south", "n", "application/json", document(th), 401, "token"},
		{"truncated JSON", "cam-south", "s", "application/json", document(th)[:40], 400, "malformed"},
		{"no track", "cam-south", "s", "application/json", []byte(`{"time": 1}`), 400, "track"},
		{"a PDF", "cam-south", "s", "application/pdf", []byte("%PDF-1.4"), 400, ""},
		{"too large", "cam-south", "s", "application/json", bytes.Repeat([]byte(" "), 5<<10), 413, "max_body"},
		{"taken", "cam-south", "s", "application/json", document(th), 200, th.Window.Label()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := r.post(t, c.camera, c.token, c.contentType, c.body)
			if code != c.code || !strings.Contains(body, c.says) {
				t.Errorf("%d %q, want %d saying %q", code, body, c.code, c.says)
			}
		})
	}
	if n := len(r.rec.Events()); n != 2 {
		t.Errorf("%d events published, want the one throw and its clear", n)
	}
}

func TestEvidenceQuota(t *testing.T) {
	dir := t.TempDir()
	s := newEvidence(dir, 1000)
	if err := s.open(); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := s.keep(fmt.Sprintf("2026112%d-a.jpg", i), bytes.Repeat([]byte{byte(i)}, 400)); err != nil {
			t.Fatal(err)
		}
	}
	if s.size() != 800 {
		t.Errorf("%d bytes kept, want the two newest (800)", s.size())
	}
	if _, err := os.Stat(filepath.Join(dir, "20261121-a.jpg")); !os.IsNotExist(err) {
		t.Errorf("the oldest is still there: %v", err)
	}
	os.WriteFile(filepath.Join(dir, ".tmp123"), []byte("torn"), 0o600) // a power cut mid-write
	again := newEvidence(dir, 1000)
	if err := again.open(); err != nil || again.size() != 800 {
		t.Fatalf("reopened: %d bytes", again.size())
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp123")); !os.IsNotExist(err) {
		t.Error("a torn temporary file survives a restart")
	}
	if err := again.keep("big.jpg", make([]byte, 1001)); err == nil {
		t.Error("an image larger than the quota was kept")
	}
}

// A throw over MQTT whose commit fails (a full disk) is committed again,
// as the same incident, and acknowledged only then: the broker does not
// send it again afterwards.
func TestMQTTThrowCommittedBeforeAck(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	var mu sync.Mutex
	var attempts []shouwang.Batch
	r := startRig(t, func(c *Config) {
		c.Listen = ""
		c.MQTT = &MQTT{Broker: mqttconn.Broker{URL: "tcp://" + mq.Addr, ClientID: "gw-cams", Username: mq.User, Password: shouwang.Secret(mq.Password)},
			Topic: "cameras/{device}/events"}
	}, func(rec *mock.Recorder) shouwang.Publisher {
		return &mock.Publisher{PublishFn: func(ctx context.Context, b shouwang.Batch) error {
			mu.Lock()
			attempts = append(attempts, b)
			n := len(attempts)
			mu.Unlock()
			if n <= 2 {
				return errors.New("no space left on device")
			}
			return rec.Publish(ctx, b)
		}}
	})
	th := r.throw(t)
	dev := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + mq.Addr).SetClientID("cam-south").
		SetUsername(mq.User).SetPassword(mq.Password))
	if tok := dev.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer dev.Disconnect(100)
	if tok := dev.Publish("cameras/cam-south/events", 1, false, document(th)); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	got := r.rec.WaitFor(t, 10*time.Second, "the throw committed", func(rc mock.Recorded) bool { return len(rc.Events) >= 2 })
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) != 3 || attempts[0].Events[0].Attrs["incident"] != got.Events[0].Attrs["incident"] {
		t.Fatalf("%d commits; the incident first tried %q, committed %q", len(attempts), attempts[0].Events[0].Attrs["incident"], got.Events[0].Attrs["incident"])
	}
	if ev := got.Events[0]; ev.Attrs["window"] != th.Window.Label() {
		t.Errorf("committed %+v, want window %s", ev, th.Window.Label())
	}
}

// A camera told 503 (the commit failed) sends the same body again: it is
// the same incident, committed once it can be. A camera that never got
// its answer sends it once more and is told the same, and nothing is
// committed twice.
func TestHTTPResendIsTheSameIncident(t *testing.T) {
	var fail sync.Once
	r := startRig(t, nil, func(rec *mock.Recorder) shouwang.Publisher {
		return &mock.Publisher{PublishFn: func(ctx context.Context, b shouwang.Batch) error {
			failed := false
			fail.Do(func() { failed = true })
			if failed {
				return errors.New("no space left on device")
			}
			return rec.Publish(ctx, b)
		}}
	})
	th := r.throw(t)
	var pic bytes.Buffer
	jpeg.Encode(&pic, image.NewGray(image.Rect(0, 0, 16, 16)), nil)
	body := document(th, pic.Bytes())
	if code, msg := r.post(t, "cam-south", "s", "application/json", body); code != 503 || !strings.Contains(msg, "send it again") {
		t.Fatalf("failed commit answered %d %q, want 503", code, msg)
	}
	var res [2]result
	for i := range res {
		r.clock.Add(30 * time.Second)
		code, msg := r.post(t, "cam-south", "s", "application/json", body)
		if code != 200 || json.Unmarshal([]byte(msg), &res[i]) != nil {
			t.Fatalf("sent again: %d %s", code, msg)
		}
	}
	if res[0].Incident != res[1].Incident || len(res[1].Evidence) != 1 {
		t.Errorf("answers %+v and %+v, want one incident with one picture", res[0], res[1])
	}
	evs := r.rec.Events()
	if len(evs) != 2 || evs[0].Attrs["incident"] != res[0].Incident || evs[0].Attrs["linked"] != "" {
		t.Errorf("committed %+v, want the one throw and its clear, linked to nothing", evs)
	}
	if ents, _ := os.ReadDir(filepath.Join(r.dir, "evidence")); len(ents) != 1 {
		t.Errorf("%d evidence files, want the one picture", len(ents))
	}
}
