package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/goccy/go-yaml"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/camera/facade"
	"github.com/shouwang-iot/shouwang/gateway/console"
	"github.com/shouwang-iot/shouwang/internal/leakcheck"
	"github.com/shouwang-iot/shouwang/internal/testenv"
)

// TestCameraThrowsRaiseAlarmsAtTheirWindow: a throw posted over HTTP as
// multipart (JSON and a JPEG) and one published over MQTT to a real
// Mosquitto each raise an alarm on the duty room's desk placed at the
// floor and room of the window they came from, with the image kept and
// served as evidence.
func TestCameraThrowsRaiseAlarmsAtTheirWindow(t *testing.T) {
	leakcheck.Check(t)
	mq := testenv.StartMosquitto(t)
	rng := rand.New(rand.NewPCG(3, 3))
	scene := facade.RandomScene(rng)
	scene.Calibration.Columns[0].Room = "01"
	for i := 1; i < len(scene.Calibration.Columns); i++ {
		scene.Calibration.Columns[i].Room = fmt.Sprintf("%02d", i+1)
	}
	var fe shouwang.FieldErrors
	if scene.Calibration.Validate(&fe, "calibration"); fe.Err() != nil {
		t.Fatal(fe.Err())
	}
	port := testenv.FreePort(t)
	cfg := map[string]any{
		"gateway": map[string]any{"name": "gw", "profile_rules": true},
		"sites":   []any{map[string]any{"id": "s", "name": "小区", "grid": "G1", "buildings": []any{map[string]any{"id": "3", "units": 2, "floors": scene.Calibration.Floors}}}},
		"devices": []any{
			map[string]any{"id": "cam-south", "profile": "camera-throw-generic-json", "driver": "cams", "location": map[string]any{"building": "3", "unit": 1, "floor": 1}},
			map[string]any{"id": "cam-north", "profile": "camera-throw-generic-json", "driver": "cams", "location": map[string]any{"building": "3", "unit": 2, "floor": 1}},
		},
		"drivers": []any{map[string]any{"name": "cams", "type": "camera", "listen": fmt.Sprintf("127.0.0.1:%d", port), "merge_window": "0s",
			"mqtt": map[string]any{"broker": "tcp://" + mq.Addr, "username": mq.User, "password": mq.Password, "topic": "cameras/{device}/events"},
			"cameras": map[string]any{
				"cam-south": map[string]any{"token": "south-secret", "calibration": scene.Calibration},
				"cam-north": map[string]any{"token": "north-secret", "calibration": scene.Calibration},
			}}},
	}
	src, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	url, _, stop := runConfig(t, src, t.TempDir())
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	testenv.CheckFor(t, 10*time.Second, "readiness (listening and subscribed)", func() bool { code, _ := get(t, url+"/readyz"); return code == 200 })

	// Two throws whose window the trace names, from the generator.
	cal := scene.Calibration
	var throws []facade.Throw
	for len(throws) < 2 {
		th := scene.Throw(rng, false)
		if tr := cal.Trace(th.Track); tr.Window != nil && tr.Window.Floor == th.Window.Floor && tr.Window.Column == th.Window.Column {
			throws = append(throws, th)
		}
	}
	doc := func(th facade.Throw, images ...string) []byte {
		b, _ := json.Marshal(map[string]any{"camera": "SN-1", "time": time.Now().Format(time.RFC3339Nano), "track": th.Track, "images": images})
		return b
	}
	var pic bytes.Buffer
	jpeg.Encode(&pic, image.NewGray(image.Rect(0, 0, 32, 24)), nil)

	// HTTP, multipart: the JSON part and the JPEG.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{"Content-Type": {"application/json"}, "Content-Disposition": {`form-data; name="event"`}}
	part, _ := mw.CreatePart(h)
	part.Write(doc(throws[0]))
	h = textproto.MIMEHeader{"Content-Type": {"image/jpeg"}, "Content-Disposition": {`form-data; name="picture"; filename="snap.jpg"`}}
	part, _ = mw.CreatePart(h)
	part.Write(pic.Bytes())
	mw.Close()
	post := func(token string) (int, string) {
		req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/events/cam-south", port), bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, msg := post("wrong"); code != http.StatusUnauthorized {
		t.Fatalf("a wrong token: %d %s", code, msg)
	}
	if code, msg := post("south-secret"); code != http.StatusOK || !strings.Contains(msg, throws[0].Window.Label()) {
		t.Fatalf("posted: %d %s, want 200 naming %s", code, msg, throws[0].Window.Label())
	}

	// MQTT: the document with the picture inline.
	pubc := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + mq.Addr).SetClientID("cam-north").
		SetUsername(mq.User).SetPassword(mq.Password))
	if tok := pubc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer pubc.Disconnect(100)
	if tok := pubc.Publish("cameras/cam-north/events", 1, false, doc(throws[1], base64.StdEncoding.EncodeToString(pic.Bytes()))); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}

	type alarm struct {
		ID       uint64 `json:"alarm"`
		Device   string
		Rule     string
		Severity string
		Location struct {
			Building string
			Floor    int
			Room     string
		}
		Detail map[string]string
	}
	var desk struct{ Alarms []alarm }
	testenv.CheckFor(t, 15*time.Second, "both throws on the desk", func() bool {
		_, b := get(t, url+"/api/v1/alarms")
		if err := json.Unmarshal([]byte(b), &desk); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return len(desk.Alarms) >= 2
	})
	for _, a := range desk.Alarms {
		th := throws[0]
		if a.Device == "cam-north" {
			th = throws[1]
		}
		if a.Severity != "alarm" || a.Location.Building != "3" || a.Location.Floor != th.Window.Floor || a.Location.Room != th.Window.Room ||
			a.Detail["window"] != th.Window.Label() {
			t.Errorf("%s: alarm %+v, want building 3 window %s", a.Device, a, th.Window.Label())
		}
		ev := strings.Fields(a.Detail["evidence"])
		if len(ev) != 1 || !strings.HasPrefix(ev[0], "/api/v1/evidence/cams/") {
			t.Fatalf("%s: evidence %q", a.Device, a.Detail["evidence"])
		}
		if code, img := get(t, url+ev[0]); code != 200 || img != pic.String() {
			t.Errorf("%s: evidence %s: %d, %d bytes, want the %d posted", a.Device, ev[0], code, len(img), pic.Len())
		}
	}

	// The duty room's alarm page shows the window and the picture.
	if !console.Built() {
		t.Fatal("the console's pages are not built: run `make console` (make test does)")
	}
	a := desk.Alarms[0]
	ctx := browser(t)
	var loaded bool
	var text string
	if err := chromedp.Run(ctx, chromedp.Navigate(url+"/"), login(testUser), chromedp.WaitVisible(`[data-conn="up"]`, chromedp.ByQuery),
		chromedp.Navigate(fmt.Sprintf("%s/#/alarm/%d", url, a.ID)),
		chromedp.WaitVisible(`img[data-evidence]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('img[data-evidence]').complete && document.querySelector('img[data-evidence]').naturalWidth > 0`, &loaded, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Text(`body`, &text, chromedp.ByQuery)); err != nil {
		t.Fatalf("alarm page: %v", err)
	}
	if !strings.Contains(text, a.Detail["window"]) {
		t.Errorf("the alarm page does not name window %s", a.Detail["window"])
	}
	var shot []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&shot, 100)); err == nil {
		artefact(t, "console-camera-alarm.png", shot)
	}
}
