//go:build !linux

package testenv

import "syscall"

// sysProcAttr is empty where there is no parent-death signal.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
