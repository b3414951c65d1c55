package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"go.bug.st/serial/enumerator"
)

// listPorts lists the serial ports; a test replaces it to print a list
// the machine it runs on does not have.
var listPorts = enumerator.GetDetailedPortsList

const serialUsage = "Usage: shouwang serial list\n"

// cmdSerial is `shouwang serial list`: the serial ports, with the USB ids,
// serial number and product name of USB adapters, so an installer can tell
// which /dev/ttyUSBn is the RS-485 adapter of which bus.
func cmdSerial(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] != "list" {
		fmt.Fprint(stderr, serialUsage)
		return 2
	}
	ports, err := listPorts()
	if err != nil {
		fmt.Fprintf(stderr, "shouwang serial list: cannot list the serial ports: %v\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	n := 0
	for _, p := range ports {
		if p == nil || p.Name == "" {
			continue
		}
		if n == 0 {
			fmt.Fprintln(tw, "PORT\tUSB VID:PID\tSERIAL\tPRODUCT")
		}
		n++
		usb, serial, product := "-", "-", "-"
		if p.IsUSB {
			usb = p.VID + ":" + p.PID
			if p.SerialNumber != "" {
				serial = p.SerialNumber
			}
			if s := strings.TrimSpace(p.Manufacturer + " " + p.Product); s != "" {
				product = s
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, usb, serial, product)
	}
	tw.Flush()
	if n == 0 {
		fmt.Fprintln(stdout, "no serial ports found (is the USB RS-485 adapter plugged in? `dmesg | tail` shows whether the kernel saw it)")
	}
	return 0
}
