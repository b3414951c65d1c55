package gbt26875

import (
	"github.com/shouwang-iot/shouwang"
	"github.com/shouwang-iot/shouwang/drivers/serial/stream"
)

// Application data type flags the decoder reads (up, UITD to centre).
const (
	TypeSystemStatus    = 1  // 系统状态: system type, address, 16 status bits
	TypeComponentStatus = 2  // 部件运行状态: a detector's 16 status bits
	TypeAnalog          = 3  // 部件模拟量值: a detector's analogue value
	TypeOperation       = 4  // 建筑消防设施操作信息: reset, mute, manual alarm at the panel
	TypeUITDStatus      = 21 // 用户信息传输装置运行状态
	TypeUITDOperation   = 24 // 用户信息传输装置操作信息
)

// objectSize is the length of one object of each type the decoder reads,
// its 6-byte time label included.
var objectSize = map[byte]int{
	TypeSystemStatus: 10, TypeComponentStatus: 46, TypeAnalog: 16, TypeOperation: 10,
	TypeUITDStatus: 7, TypeUITDOperation: 8,
}

// ignoredTypes are the up types the standard defines that say nothing the
// gateway reports (versions, configuration, clocks): confirmed and
// skipped, not counted as unknown.
var ignoredTypes = map[byte]bool{5: true, 6: true, 7: true, 8: true, 25: true, 26: true, 28: true}

// A bitKind is one status or operation bit and the event it raises.
type bitKind struct {
	bit      uint
	kind     string
	severity shouwang.Severity
	label    string // as the panel's own display names it
	// oneOff bits raise an event when they go from 0 to 1 and nothing
	// when they clear (a reset); the others are conditions, reported on
	// every change with shouwang.ClearKind when they end.
	oneOff bool
}

// Bit 0 (1 normal, 0 test) is not reported: the standard's own sample of
// a smoke detector's fire alarm has it 0, so UITDs in the field cannot be
// trusted to set it, and a real fire must never read as a test.
var (
	componentBits = []bitKind{
		{bit: 1, kind: "fire_alarm", severity: shouwang.Fire, label: "火警"},
		{bit: 2, kind: "fault", severity: shouwang.Fault, label: "故障"},
		{bit: 3, kind: "disabled", severity: shouwang.Warning, label: "屏蔽"},
		{bit: 4, kind: "supervisory", severity: shouwang.Warning, label: "监管"},
		{bit: 5, kind: "started", severity: shouwang.Info, label: "启动"},
		{bit: 6, kind: "feedback", severity: shouwang.Info, label: "反馈"},
		{bit: 7, kind: "delay", severity: shouwang.Warning, label: "延时"},
		{bit: 8, kind: "power_fault", severity: shouwang.Fault, label: "电源故障"},
	}
	systemBits = append(componentBits[:7:7],
		bitKind{bit: 8, kind: "mains_failure", severity: shouwang.Fault, label: "主电故障"},
		bitKind{bit: 9, kind: "battery_failure", severity: shouwang.Fault, label: "备电故障"},
		bitKind{bit: 10, kind: "bus_fault", severity: shouwang.Fault, label: "总线故障"},
		bitKind{bit: 11, kind: "manual_mode", severity: shouwang.Info, label: "手动"},
		bitKind{bit: 12, kind: "config_changed", severity: shouwang.Info, label: "配置改变", oneOff: true},
		bitKind{bit: 13, kind: stream.Reset, severity: shouwang.Info, label: "复位", oneOff: true},
	)
	uitdBits = []bitKind{
		{bit: 1, kind: "fire_alarm", severity: shouwang.Fire, label: "火警"},
		{bit: 2, kind: "fault", severity: shouwang.Fault, label: "故障"},
		{bit: 3, kind: "mains_failure", severity: shouwang.Fault, label: "主电故障"},
		{bit: 4, kind: "battery_failure", severity: shouwang.Fault, label: "备电故障"},
		{bit: 5, kind: "link_fault", severity: shouwang.Fault, label: "与监控中心通信信道故障"},
		{bit: 6, kind: "line_fault", severity: shouwang.Fault, label: "监测连接线路故障"},
	}
	facilityOperations = []bitKind{
		{bit: 0, kind: stream.Reset, severity: shouwang.Info, label: "复位", oneOff: true},
		{bit: 1, kind: "silence", severity: shouwang.Info, label: "消音", oneOff: true},
		{bit: 2, kind: "manual_alarm", severity: shouwang.Fire, label: "手动报警", oneOff: true},
		{bit: 3, kind: "alarm_cleared", severity: shouwang.Info, label: "警情消除", oneOff: true},
		{bit: 4, kind: "self_test", severity: shouwang.Info, label: "自检", oneOff: true},
		{bit: 5, kind: "operator_confirm", severity: shouwang.Info, label: "确认", oneOff: true},
		{bit: 6, kind: "test", severity: shouwang.Info, label: "测试", oneOff: true},
	}
	uitdOperations = append(facilityOperations[:5:5],
		bitKind{bit: 5, kind: "patrol_answer", severity: shouwang.Info, label: "查岗应答", oneOff: true},
		bitKind{bit: 6, kind: "test", severity: shouwang.Info, label: "测试", oneOff: true},
	)
)

// EventKinds lists every event kind the decoder raises, clears included,
// for profiles and documentation.
func EventKinds() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range [][]bitKind{componentBits, systemBits, uitdBits, facilityOperations, uitdOperations} {
		for _, k := range t {
			for _, kind := range []string{k.kind, shouwang.ClearKind(k.kind)} {
				if !seen[kind] && (kind == k.kind || !k.oneOff) {
					seen[kind] = true
					out = append(out, kind)
				}
			}
		}
	}
	return out
}

// An analogKind names the point of an analogue value type (部件模拟量值).
type analogKind struct {
	point string
	unit  string
	scale float64
}

// analogKinds are the types the standard gives a unit and resolution; a
// value of another type is a reading of point "analog_<type>", as sent.
var analogKinds = map[byte]analogKind{
	1: {"event_count", "", 1},
	3: {"temperature", "°C", 0.1},
	6: {"gas", "%LEL", 0.1},
	7: {"elapsed", "s", 1},
	8: {"voltage", "V", 0.1},
	9: {"current", "A", 0.1},
}
