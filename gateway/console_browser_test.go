package gateway

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/shouwang-iot/shouwang/deploy"
	"github.com/shouwang-iot/shouwang/gateway/auth"
	"github.com/shouwang-iot/shouwang/gateway/console"
	"github.com/shouwang-iot/shouwang/gateway/store"
	"github.com/shouwang-iot/shouwang/internal/testenv"
	"github.com/shouwang-iot/shouwang/rules"
)

// browser starts Debian's Chromium headless, as the duty room's PC would
// show the console.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed (make test installs it: scripts/install-test-deps.sh)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 768),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// artefact writes a test artefact (a screenshot) where CI keeps them.
func artefact(t *testing.T, name string, data []byte) {
	dir := os.Getenv("SHOUWANG_ARTEFACTS")
	if dir == "" {
		dir = filepath.Join("..", "artefacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("artefact %s", filepath.Join(dir, name))
}

// leakLater is the demo with its kitchen leak moved to 15 s after start,
// short enough to be over within the test: the board is up before it
// begins, so the alarm has to arrive live.
func leakLater(t *testing.T) []byte {
	src := string(deploy.Example)
	old := "        at: 30s\n        for: 15m\n        peak: 40\n        rise: 1m\n"
	if !strings.Contains(src, old) {
		t.Fatal("the example's gas leak incident changed; update leakLater")
	}
	return []byte(strings.Replace(src, old, "        at: 15s\n        for: 10s\n        peak: 40\n        rise: 1s\n        fall: 2s\n", 1))
}

func login(user string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.WaitVisible(`#login-user`, chromedp.ByQuery),
		chromedp.SendKeys(`#login-user`, user, chromedp.ByQuery),
		chromedp.SendKeys(`#login-password`, testPassword, chromedp.ByQuery),
		chromedp.Click(`#login-submit`, chromedp.ByQuery),
	}
}

// TestConsoleInTheBrowser walks the duty room's and the fire team's work
// in Chromium against a gateway with simulated detectors: log in, a leak
// arrives on the board live, it is handled to closed with the user in
// the journal, the history chart has every reading, the CSV export is
// the store's, and a viewer cannot acknowledge.
func TestConsoleInTheBrowser(t *testing.T) {
	if !console.Built() {
		t.Fatal("the console's pages are not built: run `make console` (make test does)")
	}
	dir := t.TempDir()
	addUser(t, dir, "viewer-li", auth.Role("viewer"))
	start := time.Now()
	base, g, stop := runConfig(t, leakLater(t), dir)
	defer stop()
	feed, unsubscribe := g.desk.Subscribe(1024)
	defer unsubscribe()
	ctx := browser(t)

	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), login(testUser),
		chromedp.WaitVisible(`[data-conn="up"]`, chromedp.ByQuery)); err != nil {
		t.Fatalf("login and board: %v", err)
	}
	if hasAlarmOn(g, "1202-kitchen-gas") {
		t.Fatal("the leak was raised before the board was up; the test cannot show it arriving live")
	}

	// The leak arrives without a reload.
	var id uint64
	var raisedAt time.Time
	for id == 0 {
		select {
		case m := <-feed:
			if m.Device == "1202-kitchen-gas" && m.Kind == rules.KindRaised {
				id, raisedAt = m.AlarmID, m.Time
			}
		case <-time.After(time.Minute):
			t.Fatal("the simulated leak raised no alarm within a minute")
		}
	}
	card := fmt.Sprintf(`[data-alarm="%d"]`, id)
	if err := chromedp.Run(ctx, chromedp.WaitVisible(card, chromedp.ByQuery)); err != nil {
		t.Fatalf("alarm %d never appeared on the board: %v", id, err)
	}
	// A figure, not a check: the time from the raise to the card seen,
	// chromedp's polling included.
	t.Logf("alarm %d on the board %v after it was raised", id, time.Since(raisedAt).Round(time.Millisecond))
	var shot []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&shot, 100)); err == nil {
		artefact(t, "console-board.png", shot)
	}

	// Handled to closed, from the board's own buttons.
	step := func(action, note, state string) {
		t.Helper()
		tasks := chromedp.Tasks{chromedp.WaitVisible(card+` button[data-action="`+action+`"]`, chromedp.ByQuery)}
		if note != "" {
			tasks = append(tasks, chromedp.SendKeys(card+` [data-note]`, note, chromedp.ByQuery))
		}
		tasks = append(tasks, chromedp.Click(card+` button[data-action="`+action+`"]`, chromedp.ByQuery))
		if state != "" {
			tasks = append(tasks, chromedp.WaitVisible(card+`[data-state="`+state+`"]`, chromedp.ByQuery))
		}
		if err := chromedp.Run(ctx, tasks); err != nil {
			t.Fatalf("%s: %v", action, err)
		}
	}
	step("acknowledge", "", "acknowledged")
	step("dispatch", "物业 张师傅", "dispatched")
	step("resolve", "关闭燃气阀门, 开窗通风", "resolved")
	step("reset", "", "") // once the gas is gone: the rule latches
	step("close", "", "")
	wait, cancelWait := context.WithTimeout(ctx, 20*time.Second)
	defer cancelWait()
	if err := chromedp.Run(wait, chromedp.WaitNotPresent(card, chromedp.ByQuery)); err != nil {
		_, body := get(t, fmt.Sprintf("%s/api/v1/alarms/%d", base, id))
		var html string
		chromedp.Run(ctx, chromedp.OuterHTML(card, &html, chromedp.ByQuery))
		t.Fatalf("the closed alarm stays on the board: %v\nAPI: %s\ncard: %s", err, body, html)
	}
	_, body := get(t, fmt.Sprintf("%s/api/v1/alarms/%d", base, id))
	var one struct {
		History []struct{ Kind, Operator, Note string }
	}
	json.Unmarshal([]byte(body), &one)
	steps := map[string]string{}
	for _, h := range one.History {
		steps[h.Kind] = h.Operator
	}
	for _, k := range []string{"acknowledged", "dispatched", "resolved", "reset", "closed"} {
		if steps[k] != testUser {
			t.Errorf("journal: %s by %q, want %s (history %+v)", k, steps[k], testUser, one.History)
		}
	}

	// The building view colours the kitchen's detector by its state, and
	// the month's grades weigh 3号楼's alarm against it.
	var state, grade string
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/#/buildings"),
		chromedp.WaitVisible(`a.chip[data-device="1202-kitchen-gas"]`, chromedp.ByQuery),
		chromedp.AttributeValue(`a.chip[data-device="1202-kitchen-gas"]`, "data-state", &state, nil, chromedp.ByQuery),
		chromedp.Navigate(base+"/#/grades"),
		chromedp.WaitVisible(`[data-building="3号楼"] [data-grade]`, chromedp.ByQuery),
		chromedp.AttributeValue(`[data-building="3号楼"] [data-grade]`, "data-grade", &grade, nil, chromedp.ByQuery)); err != nil {
		t.Fatalf("buildings and grades: %v", err)
	}
	if state != console.StateOnline {
		t.Errorf("the kitchen detector is %q in the building view, want online (its alarm is closed)", state)
	}
	_, body = get(t, base+"/api/v1/grades")
	if !strings.Contains(body, `"grade":"`+grade+`"`) || !strings.Contains(body, `"count":1`) {
		t.Errorf("the page grades 3号楼 %q; the API says %s", grade, body)
	}

	// The fire team's history: the chart holds every reading the store has.
	to := time.Now()
	q := url.Values{"device": {"1202-kitchen-gas"}, "from": {start.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	rs, err := g.store.Readings(context.Background(), store.Query{Devices: []string{"1202-kitchen-gas"}, From: start.Truncate(time.Second), To: to.Truncate(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	points := map[string]int{}
	for _, r := range rs {
		points[r.Point]++
	}
	var drawn string
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/#/history?"+q.Encode()),
		chromedp.WaitVisible(`[data-chart="gas"][data-points]`, chromedp.ByQuery),
		chromedp.AttributeValue(`[data-chart="gas"]`, "data-points", &drawn, nil, chromedp.ByQuery)); err != nil {
		t.Fatalf("history chart: %v", err)
	}
	if drawn != fmt.Sprint(points["gas"]) {
		t.Errorf("the gas chart drew %s points, the store has %d", drawn, points["gas"])
	}
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&shot, 100)); err == nil {
		artefact(t, "console-history.png", shot)
	}
	var export string
	if err := chromedp.Run(ctx, chromedp.AttributeValue(`a[data-export]`, "href", &export, nil, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	_, csvBody := get(t, resolve(base, export))
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvBody, "\ufeff"))).ReadAll()
	if err != nil || len(rows) != len(rs)+1 {
		t.Errorf("the export has %d rows (%v), want a header and the store's %d readings", len(rows), err, len(rs))
	}

	// A viewer sees the board but cannot acknowledge.
	var status int
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/#/board"), chromedp.Click(`[data-logout]`, chromedp.ByQuery),
		login("viewer-li"), chromedp.WaitVisible(`[data-conn="up"]`, chromedp.ByQuery),
		chromedp.Evaluate(fmt.Sprintf(`(async () => {
			const s = await (await fetch('/api/v1/session')).json();
			const r = await fetch('/api/v1/alarms/%d/acknowledge', {method: 'POST', headers: {'X-CSRF-Token': s.csrf, 'Content-Type': 'application/json'}, body: '{}'});
			return r.status;
		})()`, id), &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })); err != nil {
		t.Fatalf("viewer: %v", err)
	}
	if status != 403 {
		t.Errorf("a viewer's acknowledge got %d, want 403", status)
	}
}

func resolve(base, ref string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := u.Parse(ref)
	if err != nil {
		return ref
	}
	return r.String()
}

func hasAlarmOn(g *Gateway, device string) bool {
	for _, a := range g.desk.Open() {
		if a.Device == device {
			return true
		}
	}
	return false
}

// floodConfig is a fire on one floor of 5号楼 setting off 50 smoke
// detectors on floors 11 to 13 within half a minute.
func floodConfig() []byte {
	var b strings.Builder
	b.WriteString(`gateway: {name: flood, data_dir: /unused}
sites:
  - id: hillside
    name: 山景苑
    buildings: [{id: "5", name: 5号楼, units: 2, floors: 18}]
devices:
`)
	var incidents strings.Builder
	for i := range 50 {
		floor := 11 + i%3
		id := fmt.Sprintf("5-%d-%02d-smoke", floor, i)
		fmt.Fprintf(&b, "  - {id: %s, name: %d层 %02d 烟感, profile: smoke-detector-generic, driver: sim, location: {building: \"5\", unit: %d, floor: %d, room: \"%d%02d\"}}\n",
			id, floor, i, 1+i%2, floor, floor, i)
		fmt.Fprintf(&incidents, "      - {kind: smoke, device: %s, at: %dms, for: 10m, rise: 1s}\n", id, 12000+600*i)
	}
	b.WriteString("drivers:\n  - name: sim\n    type: sim\n    interval: 1s\n    incidents:\n")
	b.WriteString(incidents.String())
	b.WriteString("rules:\n  - {id: smoke, type: event, select: {types: [smoke]}, kinds: [smoke_alarm]}\n")
	return []byte(b.String())
}

// TestConsoleFlood: 50 fire alarms within a minute are all on the board,
// grouped by floor; one tone rings for all of them, and acknowledging
// each floor's group at once silences it.
func TestConsoleFlood(t *testing.T) {
	if !console.Built() {
		t.Fatal("the console's pages are not built: run `make console` (make test does)")
	}
	base, g, stop := runConfig(t, floodConfig(), t.TempDir())
	defer stop()
	ctx := browser(t)
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), login(testUser),
		chromedp.WaitVisible(`[data-conn="up"]`, chromedp.ByQuery)); err != nil {
		t.Fatalf("login and board: %v", err)
	}
	chromedp.Run(ctx, chromedp.Click(`[data-sound]`, chromedp.ByQuery, chromedp.AtLeast(0)))
	if err := chromedp.Run(ctx, chromedp.Poll(`document.querySelectorAll('[data-area="alarms"] [data-alarm][data-severity="fire"]').length === 50`,
		nil, chromedp.WithPollingTimeout(2*time.Minute))); err != nil {
		t.Fatalf("50 fire alarms on the board: %v (the desk has %d open)", err, len(g.desk.Open()))
	}
	var groups []string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`Array.from(document.querySelectorAll('[data-area="alarms"] [data-group]')).map(g => g.dataset.group + ":" + g.querySelectorAll('[data-alarm]').length)`, &groups)); err != nil {
		t.Fatal(err)
	}
	if strings.Join(groups, " ") != "5号楼/11:17 5号楼/12:17 5号楼/13:16" && strings.Join(groups, " ") != "5号楼/13:16 5号楼/12:17 5号楼/11:17" {
		t.Errorf("groups %v, want floors 11, 12 and 13 with 17, 17 and 16 alarms", groups)
	}
	var alert struct {
		Ringing bool
		Starts  int
	}
	chromedp.Run(ctx, chromedp.Evaluate(`window.__shouwangAlert`, &alert))
	if !alert.Ringing || alert.Starts != 1 {
		t.Errorf("alert %+v during the flood, want one tone ringing", alert)
	}
	var shot []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&shot, 100)); err == nil {
		artefact(t, "console-flood.png", shot)
	}
	for _, floor := range []string{"11", "12", "13"} {
		group := `[data-area="alarms"] [data-group="5号楼/` + floor + `"]`
		if err := chromedp.Run(ctx, chromedp.Click(group+` [data-group-action="acknowledge"]`, chromedp.ByQuery, chromedp.NodeVisible),
			chromedp.Poll(`document.querySelectorAll('`+group+` [data-state="raised"]').length === 0`, nil, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("acknowledging floor %s at once: %v", floor, err)
		}
	}
	if err := chromedp.Run(ctx, chromedp.Poll(`document.querySelectorAll('[data-alarm][data-state="raised"]').length === 0 && !window.__shouwangAlert.ringing`,
		nil, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		chromedp.Run(ctx, chromedp.Evaluate(`window.__shouwangAlert`, &alert))
		t.Fatalf("after acknowledging the three floors: %v (alert %+v)", err, alert)
	}
	acked := 0
	for _, a := range g.desk.Open() {
		if a.State == rules.StateAcknowledged && a.Acknowledged.Operator == testUser {
			acked++
		}
	}
	if acked != 50 {
		t.Errorf("%d alarms acknowledged by %s, want 50", acked, testUser)
	}
}

// TestConsoleDevicePageShowsRaw: the installer's page for a gas detector
// on a real Modbus peer (pymodbus) shows the decoded reading beside the
// register it came from, and keeps up as the device's value changes.
func TestConsoleDevicePageShowsRaw(t *testing.T) {
	if !console.Built() {
		t.Fatal("the console's pages are not built: run `make console` (make test does)")
	}
	input := make([]uint16, 20)
	input[0] = 125 // 12.5 %LEL at 0.1 %LEL per count
	holding := make([]uint16, 40)
	holding[0], holding[1], holding[16], holding[17] = 100, 250, 3, 9600
	srv := testenv.StartModbusTCP(t, testenv.ModbusSlave{ID: 3, Input: input, Holding: holding})
	src := fmt.Sprintf(`gateway: {name: bench, data_dir: /unused}
sites: [{id: s, name: 阳光花园, buildings: [{id: "3", name: 3号楼, units: 2, floors: 18}]}]
devices:
  - {id: 1202-gas, name: 1202 厨房燃气探测器, profile: gas-detector-lel-generic, driver: bus, address: "3",
     location: {building: "3", unit: 2, floor: 12, room: "1202"}}
drivers:
  - {name: bus, type: modbus, transport: tcp, address: %q, interval: 500ms, timeout: 1s}
`, srv.Addr)
	base, _, stop := runConfig(t, []byte(src), t.TempDir())
	defer stop()
	ctx := browser(t)
	var raw, shown string
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), login(testUser),
		chromedp.WaitVisible(`[data-conn="up"]`, chromedp.ByQuery),
		chromedp.Navigate(base+"/#/devices/1202-gas"),
		chromedp.WaitVisible(`[data-raw="gas"]`, chromedp.ByQuery),
		chromedp.Text(`[data-raw="gas"]`, &raw, chromedp.ByQuery),
		chromedp.Text(`.reading[data-point="gas"] b`, &shown, chromedp.ByQuery)); err != nil {
		t.Fatalf("device page: %v", err)
	}
	if strings.TrimSpace(raw) != "0x007D" || shown != "12.5 %LEL" {
		t.Errorf("gas shown as %q from %q, want 12.5 %%LEL from 0x007D", shown, raw)
	}
	var shot []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&shot, 100)); err == nil {
		artefact(t, "console-device.png", shot)
	}
}
