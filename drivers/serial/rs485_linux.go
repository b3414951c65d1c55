package serial

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// serialRS485 is the kernel's struct serial_rs485 (linux/serial.h).
type serialRS485 struct {
	flags       uint32
	delayBefore uint32 // ms
	delayAfter  uint32 // ms
	_           [5]uint32
}

// Flags of struct serial_rs485.
const (
	rs485Enabled      = 1 << 0
	rs485RTSOnSend    = 1 << 1
	rs485RTSAfterSend = 1 << 2
)

// setRS485 turns on the kernel's RS-485 mode for the port (TIOCSRS485).
// go.bug.st/serial does not expose its descriptor, so the device is
// opened again for the ioctl; the setting belongs to the port, not to a
// descriptor, and stays.
func setRS485(path string, c *RS485) error {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	cfg := serialRS485{flags: rs485Enabled, delayBefore: uint32(c.DelayBefore.Milliseconds()), delayAfter: uint32(c.DelayAfter.Milliseconds())}
	if c.RTSOnSend == nil || *c.RTSOnSend {
		cfg.flags |= rs485RTSOnSend
	} else {
		cfg.flags |= rs485RTSAfterSend
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSRS485, uintptr(unsafe.Pointer(&cfg))); errno != 0 {
		return fmt.Errorf("TIOCSRS485 on %s: %w", path, errno)
	}
	return nil
}
