// Package serialline is a serial line's settings as config files write
// them, shared by the drivers that open serial ports (modbus RTU, serial).
package serialline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shouwang-iot/shouwang"
	"go.bug.st/serial"
)

// Line is a serial line's settings. A zero field is unset: the caller
// fills in its default (see Defaults).
type Line struct {
	Baud     int    `yaml:"baud"`
	DataBits int    `yaml:"data_bits"`
	Parity   string `yaml:"parity"` // N, E or O
	StopBits int    `yaml:"stop_bits"`
}

// StandardBauds are the rates accepted; adapters and panels use no others.
var StandardBauds = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200}

// Check reports every field that is set and out of range, at path.
func (l *Line) Check(fe *shouwang.FieldErrors, path string) {
	if l.Baud != 0 && !slices.Contains(StandardBauds, l.Baud) {
		bauds := make([]string, len(StandardBauds))
		for i, b := range StandardBauds {
			bauds[i] = fmt.Sprint(b)
		}
		fe.Add(path+".baud", "%d is not a standard baud rate (valid: %s)", l.Baud, strings.Join(bauds, ", "))
	}
	if l.DataBits != 0 && l.DataBits != 7 && l.DataBits != 8 {
		fe.Add(path+".data_bits", "%d is not a character size (valid: 7, 8)", l.DataBits)
	}
	if l.Parity != "" && l.Parity != "N" && l.Parity != "E" && l.Parity != "O" {
		fe.Add(path+".parity", "%q is not a parity (valid: N, E, O)", l.Parity)
	}
	if l.StopBits != 0 && l.StopBits != 1 && l.StopBits != 2 {
		fe.Add(path+".stop_bits", "%d is not a number of stop bits (valid: 1, 2)", l.StopBits)
	}
}

// Defaults fills the unset fields but the baud rate: 8 data bits, no
// parity, one stop bit.
func (l *Line) Defaults() {
	if l.DataBits == 0 {
		l.DataBits = 8
	}
	if l.Parity == "" {
		l.Parity = "N"
	}
	if l.StopBits == 0 {
		l.StopBits = 1
	}
}

// Mode is the line as go.bug.st/serial opens it; unset fields read as
// their defaults.
func (l Line) Mode() *serial.Mode {
	l.Defaults()
	m := &serial.Mode{BaudRate: l.Baud, DataBits: l.DataBits, Parity: serial.NoParity, StopBits: serial.OneStopBit}
	switch l.Parity {
	case "E":
		m.Parity = serial.EvenParity
	case "O":
		m.Parity = serial.OddParity
	}
	if l.StopBits == 2 {
		m.StopBits = serial.TwoStopBits
	}
	return m
}

func (l Line) String() string {
	l.Defaults()
	return fmt.Sprintf("%d %d%s%d", l.Baud, l.DataBits, l.Parity, l.StopBits)
}
