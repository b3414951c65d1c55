// Package broker is the gateway's embedded MQTT broker (mochi-mqtt), for
// when the config names no external one: devices log in with the users
// file, an ACL says what each may publish and subscribe to, and the
// gateway's own clients use a loopback listener with a user of their own.
// See README.md.
package broker

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
)

// Options are the gateway's settings for the broker that are not in the
// config file.
type Options struct {
	Logger *slog.Logger
	// AnonymousLoopback lets clients without a username connect from a
	// loopback address, with every right. For the demo only: it has no
	// config key on purpose.
	AnonymousLoopback bool
}

// Listener ids, as mochi and the logs name them.
const (
	listenerTCP      = "tcp"
	listenerTLS      = "tls"
	listenerInternal = "internal"
)

// internalUser is the gateway's own user; the ':' keeps it from ever
// naming a user of the users file.
const internalUser = "shouwang:internal"

// sessionExpiry is how long a disconnected client's persistent session
// (subscriptions, queued QoS 1/2 messages) is kept, in seconds. mochi's
// default is forever, which grows memory with every client id seen.
const sessionExpiry = 24 * 60 * 60

// Broker is the embedded MQTT broker.
type Broker struct {
	cfg          Config
	opts         Options
	logger       *slog.Logger
	server       *mqtt.Server
	users        *userStore
	acl          []aclRule
	internalPass shouwang.Secret
	now          func() time.Time
	limiter      *limiter
	conns        *connSet

	authFailures  atomic.Uint64
	deniedPub     atomic.Uint64
	deniedSub     atomic.Uint64
	publicClients atomic.Int64

	mu           sync.Mutex
	state        int // stateNew, stateServing, stateClosed
	lns          []*trackingListener
	internalAddr string
	// closedToDevices are the public listeners bound but not yet served
	// (OpenToDevices).
	closedToDevices []*trackingListener
}

const (
	stateNew = iota
	stateServing
	stateClosed
)

// New builds the broker without opening anything. It returns the
// config's FieldErrors if the config is invalid.
func New(cfg Config, opts Options) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("broker: invalid configuration: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Broker{
		cfg:          cfg,
		opts:         opts,
		logger:       opts.Logger,
		users:        newUserStore(cfg.UsersFile, opts.Logger),
		acl:          compileACL(cfg.ACL),
		internalPass: shouwang.Secret(rand.Text()),
		now:          time.Now,
		limiter:      newLimiter(time.Minute),
		conns:        newConnSet(),
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = uint32(cfg.MaxMessageBytes)
	caps.MaximumSessionExpiryInterval = sessionExpiry
	caps.MaximumClients = math.MaxInt64 // max_clients is enforced by the hook, for the public listeners only
	// mochi asks the ACL about a publish's topic before it resolves a topic
	// alias, so an alias would dodge the check; mochi does not offer
	// aliases in CONNACK anyway (MQTT 5 then allows none).
	caps.TopicAliasMaximum = 0
	b.server = mqtt.New(&mqtt.Options{
		Logger:                 slog.New(&mochiHandler{h: opts.Logger.Handler()}),
		Capabilities:           caps,
		SysTopicResendInterval: 30, // each $SYS update reads the memory stats, which stops the world
	})
	if err := b.server.AddHook(&hook{b: b}, nil); err != nil {
		return nil, err
	}
	return b, nil
}

// Start reads the users file and the TLS files, opens the listeners and
// starts serving. It returns an error naming the address when one cannot
// be opened, having opened nothing, so the gateway may call it again.
func (b *Broker) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != stateNew {
		return errors.New("broker: Start called twice or after Close")
	}
	if err := b.users.load(); err != nil {
		return fmt.Errorf("broker: users_file: %w", err)
	}
	var tc *tls.Config
	if b.cfg.TLS.Listen != "" {
		var err error
		if tc, err = b.cfg.TLS.config(); err != nil {
			return fmt.Errorf("broker: tls: %w", err)
		}
	}
	type spec struct{ id, field, addr string }
	specs := []spec{{listenerInternal, "internal", "127.0.0.1:0"}}
	if b.cfg.Listen != "" {
		specs = append(specs, spec{listenerTCP, "listen", b.cfg.Listen})
	}
	if tc != nil {
		specs = append(specs, spec{listenerTLS, "tls.listen", b.cfg.TLS.Listen})
	}
	var lns []*trackingListener
	for _, s := range specs {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			var oe *net.OpError
			if errors.As(err, &oe) {
				err = oe.Err
			}
			return fmt.Errorf("broker: cannot listen on %s (broker.%s): %w", s.addr, s.field, err)
		}
		if s.id == listenerTLS {
			ln = tls.NewListener(ln, tc)
		}
		lns = append(lns, b.track(s.id, ln))
	}
	if err := b.server.AddListener(listeners.NewNet(lns[0].id, lns[0])); err != nil {
		return err // only a duplicate id, which the state check rules out
	}
	b.lns, b.internalAddr, b.closedToDevices = lns, lns[0].Addr().String(), lns[1:]
	if err := b.server.Serve(); err != nil {
		return err
	}
	b.state = stateServing
	return nil
}

// OpenToDevices starts serving the public listeners, which Start bound
// (so a taken port fails Start) but left unserved: sessions live in
// memory, so until the gateway's own subscribers have connected after a
// start, a device's message would be acknowledged and handed to no one.
// Devices that connect before wait in the listen backlog for their
// CONNACK. It is a no-op after the first call and after Close.
func (b *Broker) OpenToDevices() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != stateServing {
		return nil
	}
	for _, l := range b.closedToDevices {
		if err := b.server.AddListener(listeners.NewNet(l.id, l)); err != nil {
			return err
		}
		b.server.Listeners.Serve(l.id, b.server.EstablishConnection)
		b.logger.Info("MQTT broker listening", "listener", l.id, "addr", l.Addr().String())
	}
	b.closedToDevices = nil
	return nil
}

func (t *TLSConfig) config() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		return nil, fmt.Errorf("cert/key: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if t.ClientCA != "" {
		pool, err := mqttconn.CertPool(t.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("client_ca: %w", err)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// Internal is how the gateway's own clients reach the broker: the
// loopback listener's URL and a user that may do anything there (and is
// refused anywhere else). The password is made by New and never stored.
// The URL is empty until Start has returned nil.
func (b *Broker) Internal() (url, username string, password shouwang.Secret) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.internalAddr != "" {
		url = "tcp://" + b.internalAddr
	}
	return url, internalUser, b.internalPass
}

// Close disconnects every client and closes the listeners; it returns
// once the clients' goroutines are done. It may be called more than once,
// and after a failed Start or none.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == stateClosed {
		return nil
	}
	serving := b.state == stateServing
	b.state = stateClosed
	for _, l := range b.lns {
		l.Close()
	}
	// mochi closes only the clients that finished CONNECT, then waits for
	// all of them: a socket that never sent one would hold Close forever.
	b.conns.closePending()
	if !serving {
		return nil
	}
	// mochi v2.7.9's Close lists each listener's clients under a read lock
	// it takes twice (Clients.GetByListener calls Len): a client leaving
	// at that moment queues for the write lock between the two, and both
	// wait for ever (seen once in CI: a test hung for 8 minutes). So the
	// clients are disconnected here, listed under one read lock, and the
	// listeners are out of mochi's registry before its Close.
	for _, cl := range b.server.Clients.GetAll() {
		if !cl.Closed() {
			b.server.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
	for _, l := range b.lns {
		b.server.Listeners.Delete(l.id)
	}
	return b.server.Close()
}
