package testenv

import "syscall"

// sysProcAttr makes the kernel send SIGTERM to a server if the test binary
// dies without running its cleanups (a go test -timeout panic, a SIGKILL),
// so no broker outlives the test run. The signal is tied to the OS thread
// that started the child, and Go ends a thread only when a goroutine exits
// while locked to it (runtime.LockOSThread): a test that does that could
// see a server stop early.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
