package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/shouwang-iot/shouwang/deploy"
	"github.com/shouwang-iot/shouwang/gateway"
	"github.com/shouwang-iot/shouwang/gateway/auth"
)

// demoDevice is the kitchen where the demo's gas leak happens.
const demoDevice = "1202-kitchen-gas"

// cmdDemo runs the example config shipped in deploy/, with its simulated
// devices, so a newcomer sees readings flow with nothing else installed.
func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "HTTP address (metrics, history)")
	data := fs.String("data", filepath.Join(os.TempDir(), "shouwang-demo"), "data directory")
	mqtt := fs.String("mqtt", "127.0.0.1:1883", "the embedded MQTT broker's address (alarm topics; anonymous from this machine)")
	every := fs.Duration("every", 5*time.Second, "how often to print the leaking kitchen's reading (0 for never)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	plan, err := gateway.LoadBytes("deploy/shouwang.example.yaml", deploy.Example, func(c *gateway.Config) {
		c.Gateway.DataDir = *data
		c.Gateway.HTTP.Listen = *listen
		c.Broker.Listen = *mqtt
	})
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	password, err := demoLogin(*data)
	if err != nil {
		fmt.Fprintf(stderr, "demo: console login: %v\n", err)
		return 1
	}
	login := demoUser + ":" + password
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	return runPlan(plan, stderr, &gateway.Options{AnonymousBroker: true, Listening: func(addr net.Addr) {
		base := "http://" + addr.String()
		mqttHost, mqttPort, _ := net.SplitHostPort(*mqtt)
		fmt.Fprintf(stdout, `
Shouwang demo: %d simulated devices in %s, data in %s
  a gas leak starts in 3号楼 2单元 1202's kitchen 30 s after start: a
  warning at 10 %%LEL about 20 s later, an alarm at 25 %%LEL a minute after
  that, escalating 2 min after it was raised until someone acknowledges it.

  console   %s/   user %s, password %s (new at every demo start)
  API       curl -u %s %s/api/v1/alarms
            curl -u %s -X POST -d '{}' %s/api/v1/alarms/ID/acknowledge
  readings  %s/api/v1/readings?device=%s (export: &format=csv)
  metrics   %s/metrics
  MQTT      mosquitto_sub -h %s -p %s -t 'shouwang/#' -v

Ctrl-C stops it.
`, len(plan.Devices), plan.Config.Sites[0].Name, *data, base, demoUser, password, login, base, login, base, base, demoDevice, base, mqttHost, mqttPort)
		if *every > 0 {
			wg.Go(func() { printLeak(ctx, base, login, *every, stdout) })
		}
	}})
}

// printLeak shows the demo kitchen's gas reading now and then, and every
// change of an open alarm, read back through the API the way a console
// would.
func printLeak(ctx context.Context, base, login string, every time.Duration, w io.Writer) {
	t := time.NewTicker(every)
	defer t.Stop()
	seen := map[uint64]string{}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			var readings struct {
				Readings []struct {
					Value float64
					Unit  string
				}
			}
			q := url.Values{"device": {demoDevice}, "point": {"gas"}, "from": {now.Add(-every).UTC().Format(time.RFC3339Nano)}}
			if getJSON(base+"/api/v1/readings?"+q.Encode(), login, &readings) && len(readings.Readings) > 0 {
				r := readings.Readings[len(readings.Readings)-1]
				fmt.Fprintf(w, "%s  3号楼2单元1202 厨房燃气 %5.1f %s\n", now.Format("15:04:05"), r.Value, r.Unit)
			}
			var open struct {
				Alarms []struct {
					AlarmID    uint64 `json:"alarm"`
					Severity   string
					State      string
					Escalation int
					Device     string
					DeviceName string `json:"device_name"`
					Point      string
					Value      float64
					Unit       string
				}
			}
			if !getJSON(base+"/api/v1/alarms", login, &open) {
				continue
			}
			for _, a := range open.Alarms {
				line := fmt.Sprintf("ALARM %d  %-7s %-12s escalation level %d  %s (%s)",
					a.AlarmID, a.Severity, a.State, a.Escalation, a.DeviceName, a.Device)
				if a.Point != "" {
					line += fmt.Sprintf(" %s %g %s", a.Point, a.Value, a.Unit)
				}
				if seen[a.AlarmID] != line {
					seen[a.AlarmID] = line
					fmt.Fprintf(w, "%s  %s\n", now.Format("15:04:05"), line)
				}
			}
		}
	}
}

// getJSON reads url as login ("user:password").
func getJSON(url, login string, v any) bool {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return false
	}
	user, pass, _ := strings.Cut(login, ":")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}

// demoUser is the demo's console admin. There is no default password:
// each demo start gives it a new random one and prints it.
const demoUser = "demo"

func demoLogin(dataDir string) (string, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return "", err
	}
	a, err := auth.Open(context.Background(), auth.DefaultFile(dataDir), auth.DefaultConfig(), time.Now, nil)
	if err != nil {
		return "", err
	}
	defer a.Close()
	password := rand.Text()[:16]
	err = a.AddUser(context.Background(), demoUser, auth.Role("admin"), password)
	if errors.Is(err, auth.ErrUserExists) {
		err = a.SetPassword(context.Background(), demoUser, password)
	}
	return password, err
}
