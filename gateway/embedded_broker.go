package gateway

import (
	"context"
	"fmt"

	"github.com/shouwang-iot/shouwang/gateway/broker"
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
)

// startBroker runs the embedded broker when an MQTT client names none,
// and points every such client at it with the gateway's own credentials,
// which are made up at each start and never written down.
func (g *Gateway) startBroker(ctx context.Context) error {
	if !g.plan.EmbeddedBroker {
		return nil
	}
	b, err := broker.New(g.plan.Config.Broker, broker.Options{Logger: g.logger.With("component", "broker"),
		AnonymousLoopback: g.opts.AnonymousBroker})
	if err != nil {
		return err
	}
	if err := b.Start(ctx); err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	g.broker = b
	g.reg.MustRegister(b)
	url, user, password := b.Internal()
	for _, c := range g.mqttClients() {
		if c.Embedded() {
			c.URL, c.Username, c.Password = url, user, password
		}
	}
	g.logger.Info("embedded MQTT broker running", "listen", g.plan.Config.Broker.Listen,
		"tls", g.plan.Config.Broker.TLS.Listen, "users_file", g.plan.Config.Broker.UsersFile)
	return nil
}

// mqttClients lists the broker section of every MQTT client in the plan.
func (g *Gateway) mqttClients() []*mqttconn.Broker {
	var out []*mqttconn.Broker
	for _, d := range g.plan.Drivers {
		if c, ok := d.Config.(mqttconn.Client); ok && c.MQTTBroker() != nil {
			out = append(out, c.MQTTBroker())
		}
	}
	for _, s := range g.plan.Sinks {
		if c, ok := s.Config.(mqttconn.Client); ok && c.MQTTBroker() != nil {
			out = append(out, c.MQTTBroker())
		}
	}
	for i := range g.plan.Notify.MQTT {
		out = append(out, &g.plan.Notify.MQTT[i].Broker)
	}
	return out
}

// openBrokerToDevices lets devices in once the drivers that read them
// from the embedded broker have subscribed: its sessions live in memory,
// so a message taken before would be acknowledged to the device and
// handed to no one. A driver that never starts keeps devices out, and
// they keep their messages.
func (g *Gateway) openBrokerToDevices() {
	if g.broker == nil {
		return
	}
	if err := g.broker.OpenToDevices(); err != nil {
		g.logger.Error("embedded broker: cannot serve devices", "err", err)
	}
}
