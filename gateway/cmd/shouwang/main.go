// Command shouwang is the Shouwang gateway: one binary for the daemon, the
// demo and the installer's tools.
//
//	shouwang run -c FILE          run the gateway
//	shouwang demo                 run the sample community with simulated devices
//	shouwang config check FILE    check a config file without starting anything
//	shouwang version              print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/shouwang-iot/shouwang/gateway"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// defaultConfigFile is the config file `shouwang run` reads when -c is not
// given; the installer commands look DEVICE arguments up in it.
const defaultConfigFile = "/etc/shouwang/shouwang.yaml"

const usage = `Usage: shouwang <command> [arguments]

Commands:
  run -c FILE          run the gateway with the config file FILE
  demo                 run the sample community (deploy/shouwang.example.yaml)
                       with simulated devices; -h for its flags
  config check FILE    report every problem in FILE, as file:line:col; exit 1 if any
  modbus scan          find the slaves on a bus and the profiles they match
  modbus read          read one device's points, status and settings, raw and decoded
  device apply         write a device's settings after a dry run, and read them back
  serial list          list the serial ports with their USB ids
  camera calibrate     check a camera's calibration and print the window grid it implies
  broker user          add, remove or list the embedded MQTT broker's users
  user                 add, change, remove or list the console's users and roles
  version              print the version
`

// run is main without os.Exit, so tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stderr)
	case "demo":
		return cmdDemo(args[1:], stdout, stderr)
	case "config":
		if len(args) < 2 || args[1] != "check" {
			fmt.Fprint(stderr, "Usage: shouwang config check FILE\n")
			return 2
		}
		return cmdConfigCheck(args[2:], stdout, stderr)
	case "modbus":
		return cmdModbus(args[1:], stdout, stderr)
	case "device":
		return cmdDevice(args[1:], os.Stdin, stdout, stderr)
	case "serial":
		return cmdSerial(args[1:], stdout, stderr)
	case "camera":
		return cmdCamera(args[1:], stdout, stderr)
	case "user":
		return cmdUser(args[1:], os.Stdin, stdout, stderr)
	case "broker":
		return cmdBroker(args[1:], os.Stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "shouwang", gateway.Version)
		return 0
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "shouwang: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func cmdRun(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", defaultConfigFile, "config file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	plan, err := gateway.Load(*file)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	return runPlan(plan, stderr, nil)
}

// runPlan runs the gateway until SIGINT or SIGTERM.
func runPlan(plan *gateway.Plan, stderr io.Writer, opts *gateway.Options) int {
	if opts == nil {
		opts = &gateway.Options{}
	}
	opts.Logger = newLogger(plan.Config.Gateway.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := gateway.New(plan, *opts).Run(ctx); err != nil {
		opts.Logger.Error("gateway stopped with errors", "err", err)
		return 1
	}
	return 0
}

func newLogger(c gateway.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level)) // checked by the loader
	hopts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts))
	}
	return slog.New(slog.NewTextHandler(w, hopts))
}

func cmdConfigCheck(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprint(stderr, "Usage: shouwang config check FILE\n")
		return 2
	}
	plan, err := gateway.Load(args[0])
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok: %d sites, %d devices, %d drivers, %d sinks, %d device profiles\n",
		args[0], len(plan.Config.Sites), len(plan.Devices), len(plan.Drivers), len(plan.Sinks), len(plan.Profiles))
	return 0
}

// printProblems prints each problem of a failed load on its own line.
func printProblems(w io.Writer, err error) {
	var list interface{ Unwrap() []error }
	if errors.As(err, &list) {
		errs := list.Unwrap()
		for _, e := range errs {
			fmt.Fprintln(w, e)
		}
		fmt.Fprintf(w, "%d problems; the gateway was not started\n", len(errs))
		return
	}
	fmt.Fprintln(w, err)
}
