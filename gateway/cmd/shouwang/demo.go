package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/shouwang-iot/shouwang/deploy"
	"github.com/shouwang-iot/shouwang/gateway"
)

// cmdDemo runs the example config shipped in deploy/, with its simulated
// devices, so a newcomer sees readings flow with nothing else installed.
func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "HTTP address (metrics, history)")
	data := fs.String("data", filepath.Join(os.TempDir(), "shouwang-demo"), "data directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	plan, err := gateway.LoadBytes("deploy/shouwang.example.yaml", deploy.Example, func(c *gateway.Config) {
		c.Gateway.DataDir = *data
		c.Gateway.HTTP.Listen = *listen
	})
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	return runPlan(plan, stderr, &gateway.Options{Listening: func(addr net.Addr) {
		base := "http://" + addr.String()
		fmt.Fprintf(stdout, `
Shouwang demo: %d simulated devices in %s, data in %s
  a slow gas leak starts in 3号楼 2单元 1202's kitchen 30 s after start.

  metrics   %s/metrics
  readings  %s/api/v1/readings?device=1202-kitchen-gas
  events    %s/api/v1/events
  export    %s/api/v1/readings?device=1202-kitchen-gas&format=csv

Ctrl-C stops it.
`, len(plan.Devices), plan.Config.Sites[0].Name, *data, base, base, base, base)
	}})
}
