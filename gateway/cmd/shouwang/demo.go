package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shouwang-iot/shouwang/deploy"
	"github.com/shouwang-iot/shouwang/gateway"
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
  that, escalating 2 min after it was raised until someone acknowledges it:
    curl -X POST -d '{"operator":"王警官"}' %s/api/v1/alarms/ID/acknowledge

  metrics   %s/metrics
  alarms    %s/api/v1/alarms
  readings  %s/api/v1/readings?device=%s
  events    %s/api/v1/events
  export    %s/api/v1/readings?device=%s&format=csv
  MQTT      mosquitto_sub -h %s -p %s -t 'shouwang/#' -v

Ctrl-C stops it.
`, len(plan.Devices), plan.Config.Sites[0].Name, *data, base, base, base, base, demoDevice, base, base, demoDevice, mqttHost, mqttPort)
		if *every > 0 {
			wg.Go(func() { printLeak(ctx, base, *every, stdout) })
		}
	}})
}

// printLeak shows the demo kitchen's gas reading now and then, and every
// change of an open alarm, read back through the API the way a console
// would.
func printLeak(ctx context.Context, base string, every time.Duration, w io.Writer) {
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
			if getJSON(base+"/api/v1/readings?"+q.Encode(), &readings) && len(readings.Readings) > 0 {
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
			if !getJSON(base+"/api/v1/alarms", &open) {
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

func getJSON(url string, v any) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}
