package testenv

import (
	"net"
	"testing"
)

// SilentServer listens on loopback, accepts connections and never answers
// them: a peer that holds a client in its connect or handshake. It gives
// the address and the connections as they are accepted; the listener and
// every connection close when the test ends.
func SilentServer(tb testing.TB) (addr string, accepted <-chan net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	conns := make(chan net.Conn, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case conns <- c:
			default:
				c.Close()
			}
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		<-done
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), conns
}
