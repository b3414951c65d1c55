package gateway

import (
	"github.com/shouwang-iot/shouwang/internal/mqttconn"
)

// mqttClient fills in and checks one MQTT client section (a driver, a
// sink, a notifier) at path p, called name: its client id defaults to
// "shouwang-<gateway name>-<name>", its certificate files are relative to
// the config file, two clients may not share an id on one broker (they
// would keep disconnecting each other), and one that names no broker
// makes the gateway run its own.
func (l *loader) mqttClient(p, what, name string, b *mqttconn.Broker) {
	if b.ClientID == "" {
		b.ClientID = "shouwang-" + l.plan.Config.Gateway.Name + "-" + name
	}
	b.CA, b.Cert, b.Key = l.relative(b.CA), l.relative(b.Cert), l.relative(b.Key)
	if l.mqttIDs == nil {
		l.mqttIDs = map[[2]string]string{}
	}
	key := [2]string{b.URL, b.ClientID}
	if other, ok := l.mqttIDs[key]; ok {
		where := b.URL
		if b.Embedded() {
			where = "the embedded broker"
		}
		l.errorf(p+".client_id", "%q is also %s's client id on %s (two clients with one id keep disconnecting each other)", b.ClientID, other, where)
	}
	l.mqttIDs[key] = what + " " + name
	if b.Embedded() {
		l.plan.EmbeddedBroker = true
	}
}
