// Package leakcheck fails a test that leaves goroutines running. Call
// Check at the start of a test; at cleanup it waits (polling) for every
// goroutine started since to exit, and prints the stacks of those that
// did not.
package leakcheck

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// Check records the goroutines alive now and checks at cleanup that no
// other one is left.
func Check(tb testing.TB) {
	tb.Helper()
	before := goroutinesWithStacks()
	tb.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		var leaked []string
		for {
			leaked = leaked[:0]
			for id, stack := range goroutinesWithStacks() {
				if _, old := before[id]; !old && !ignorable(stack) {
					leaked = append(leaked, stack)
				}
			}
			if len(leaked) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond) // polling goroutine exit: nothing to be told by
		}
		if len(leaked) > 0 {
			tb.Errorf("%d goroutines outlived the test:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
	})
}

// ignorable says whether a goroutine belongs to the runtime or the test
// framework (another test running in parallel), not to the code under test.
func ignorable(stack string) bool {
	return strings.Contains(stack, "testing.tRunner(") || strings.Contains(stack, "os/signal.signal_recv") ||
		strings.Contains(stack, "testing.runFuzzing")
}

func goroutinesWithStacks() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		// "goroutine 18 [running]:"
		head, _, _ := strings.Cut(g, "\n")
		f := strings.Fields(head)
		if len(f) >= 2 && f[0] == "goroutine" {
			out[f[1]] = g
		}
	}
	return out
}
