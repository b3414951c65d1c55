//go:build !linux

package serial

import (
	"errors"
	"runtime"
)

func setRS485(string, *RS485) error {
	return errors.New("RS-485 mode is set only on Linux, not " + runtime.GOOS)
}
