package mqtt

import (
	"testing"

	"github.com/shouwang-iot/shouwang"
)

// BenchmarkReadJSON is the driver's own cost per message of the shipped
// gas profile's JSON: match the topic, find the device, decode.
func BenchmarkReadJSON(b *testing.B) {
	var p placed
	p.add("gas", "GD-1", "3", jsonModel())
	c := DefaultConfig()
	c.Subscriptions = []Subscription{stateTopic}
	if err := c.Validate(p.devices, p.models); err != nil {
		b.Fatal(err)
	}
	d := newDriver(c, shouwang.DriverEnv{Name: "bench", Devices: p.devices, Models: p.models})
	m := inbound{at: recv, Message: benchMessage{topic: "community/sunshine/building/3/gas/GD-1/state",
		payload: []byte(`{"ts":1790000000123,"lel":3.5,"bat":97,"alarm":0}`)}}
	// A batch as collect sizes it, emptied as a commit would.
	batch := shouwang.Batch{Readings: make([]shouwang.Reading, 0, 4096)}
	b.ReportAllocs()
	for b.Loop() {
		if len(batch.Readings) == cap(batch.Readings) {
			batch.Readings = batch.Readings[:0]
		}
		d.read(m, &batch)
	}
}

// benchMessage is a paho.Message as the router hands it over.
type benchMessage struct {
	topic   string
	payload []byte
}

func (m benchMessage) Duplicate() bool   { return false }
func (m benchMessage) Qos() byte         { return 1 }
func (m benchMessage) Retained() bool    { return false }
func (m benchMessage) Topic() string     { return m.topic }
func (m benchMessage) MessageID() uint16 { return 1 }
func (m benchMessage) Payload() []byte   { return m.payload }
func (m benchMessage) Ack()              {}
