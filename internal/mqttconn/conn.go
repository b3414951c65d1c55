package mqttconn

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/url"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// bufferedConn reads through a buffer. paho reads each packet's fixed
// header a byte at a time and then its body, several read syscalls per
// message; at tens of thousands of messages a second that was 7% of the
// gateway's CPU. Options sets it for every client: the driver, the
// uplink and the alarm notifier.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// bufferedDial opens tcp:// and ssl:// connections the way paho does
// (without its proxy support, which a community gateway has no use for)
// and buffers their reads. Other schemes keep paho's own dialer.
func bufferedDial(scheme string) paho.OpenConnectionFunc {
	switch scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts":
	default:
		return nil
	}
	return func(uri *url.URL, o paho.ClientOptions) (net.Conn, error) {
		d := &net.Dialer{Timeout: o.ConnectTimeout} // the client's connect_timeout
		var conn net.Conn
		var err error
		if uri.Scheme == "tcp" || uri.Scheme == "mqtt" {
			conn, err = d.Dial("tcp", uri.Host)
		} else {
			conn, err = tls.DialWithDialer(d, "tcp", uri.Host, o.TLSConfig)
		}
		if err != nil {
			return nil, err
		}
		return bufferedConn{conn, bufio.NewReaderSize(conn, 16<<10)}, nil
	}
}
