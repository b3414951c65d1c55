package serial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/serial/stream"
	"go.bug.st/serial"
)

// runPort opens the port, serves it, and when it fails (an unplugged USB
// adapter, a port that never was) reports the panel offline, waits with
// backoff and opens it again, until ctx ends.
func (d *Driver) runPort(ctx context.Context, pub shouwang.Publisher) {
	wait := d.cfg.ReopenMin
	down := false // the offline event went out; the online one is owed
	for ctx.Err() == nil {
		p, err := d.openPort()
		if err == nil {
			wait = d.cfg.ReopenMin
			d.metrics.open.Set(1)
			d.log.Info("serial port open", "port", d.cfg.Port, "line", d.cfg.Line.String(), "protocol", d.cfg.Protocol)
			if down && d.linkEvent(ctx, pub, "online", shouwang.Info, "serial port "+d.cfg.Port+" open again") == nil {
				down = false
			}
			err = d.serve(ctx, pub, p, d.cfg.Port, 0)
			p.Close()
			d.metrics.open.Set(0)
			if ctx.Err() != nil {
				return
			}
		}
		d.metrics.failures.Inc()
		d.log.Warn("serial port failed; opening it again", "port", d.cfg.Port, "error", err, "retry_after", wait)
		if !down && d.linkEvent(ctx, pub, "offline", shouwang.Fault, fmt.Sprintf("serial port %s failed: %v", d.cfg.Port, err)) == nil {
			down = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, d.cfg.ReopenMax)
	}
}

// linkEvent reports the port's state on the panel's device, or, with no
// panel placed, on every device of the driver: each of them stopped (or
// started again) being heard.
func (d *Driver) linkEvent(ctx context.Context, pub shouwang.Publisher, kind string, sev shouwang.Severity, msg string) error {
	ids := []string{}
	if id, ok := d.devices[stream.PanelAddress]; ok {
		ids = append(ids, id)
	} else {
		for _, id := range d.devices {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	now := d.now()
	var b shouwang.Batch
	for _, id := range ids {
		b.Events = append(b.Events, shouwang.Event{Device: id, Kind: kind, Severity: sev, Message: msg, Time: now,
			Attrs: map[string]string{"port": d.cfg.Port}})
	}
	return pub.Publish(ctx, b)
}

// openPort opens the port with the configured line and read timeout.
func (d *Driver) openPort() (serial.Port, error) {
	if _, err := os.Stat(d.cfg.Port); err != nil {
		return nil, err // go.bug.st says only "invalid serial port" for a missing one
	}
	p, err := serial.Open(d.cfg.Port, d.cfg.Line.Mode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.cfg.Port, err)
	}
	if err := p.SetReadTimeout(readTimeout); err != nil {
		p.Close()
		return nil, fmt.Errorf("set read timeout on %s: %w", d.cfg.Port, err)
	}
	if d.cfg.RS485 != nil {
		if err := setRS485(d.cfg.Port, d.cfg.RS485); err != nil {
			// Many USB RS-485 adapters switch by themselves and refuse
			// the ioctl: the port works, so only say so.
			d.log.Warn("RS-485 mode not set; the adapter must switch its transmitter itself", "port", d.cfg.Port, "error", err)
		}
	}
	return p, nil
}

// listen binds the TCP listener and starts accepting UITDs.
func (d *Driver) listen(ctx context.Context, pub shouwang.Publisher) (net.Listener, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", d.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen for GB/T 26875.3 on %s: %w", d.cfg.Listen, err)
	}
	d.log.Info("listening for UITDs", "address", ln.Addr().String())
	slots := make(chan struct{}, d.cfg.MaxConnections)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
					d.log.Error("accepting UITD connections stopped", "error", err)
				}
				return
			}
			select {
			case slots <- struct{}{}:
			default:
				d.log.Warn("UITD connection refused: max_connections reached", "remote", c.RemoteAddr().String(), "max_connections", d.cfg.MaxConnections)
				c.Close()
				continue
			}
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				defer func() { <-slots }()
				d.serveConn(ctx, pub, c)
			}()
		}
	}()
	return ln, nil
}

// serveConn reads one UITD's connection until it fails, goes idle or ctx
// ends.
func (d *Driver) serveConn(ctx context.Context, pub shouwang.Publisher, c net.Conn) {
	defer c.Close()
	remote := c.RemoteAddr().String()
	d.metrics.open.Inc()
	defer d.metrics.open.Dec()
	d.log.Info("UITD connected", "remote", remote)
	err := d.serve(ctx, pub, timeoutConn{c}, remote, d.cfg.IdleTimeout)
	if ctx.Err() == nil {
		d.metrics.failures.Inc()
		d.log.Warn("UITD connection closed", "remote", remote, "error", err)
	}
}

// timeoutConn reads like a serial port with a read timeout: 0, nil when
// readTimeout passes without a byte.
type timeoutConn struct{ net.Conn }

func (c timeoutConn) Read(p []byte) (int, error) {
	c.SetReadDeadline(time.Now().Add(readTimeout))
	n, err := c.Conn.Read(p)
	if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, nil
	}
	if err == io.EOF && n > 0 {
		return n, nil
	}
	return n, err
}

func (c timeoutConn) Write(p []byte) (int, error) {
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.Conn.Write(p)
}
