package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shouwang-iot/shouwang"
)

// xval is a reading of point, for an expression rule, which reads several.
func xval(at time.Duration, point string, v float64, want string) step {
	s := val(at, v, want)
	s.point = point
	return s
}

func exprRule(src string) Rule {
	return Rule{ID: "kitchen", Type: TypeExpression, Expr: src, Select: Selector{Types: []string{"gas"}}}
}

func TestExpression(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name   string
		rule   Rule
		script []step
	}{
		{"both points needed", exprRule("gas > 10 && co > 30"), []step{
			xval(0, "gas", 20, ""), // co has no value yet: false
			tick(s, ""),
			xval(2*s, "co", 40, "alarm/expression"),
			xval(3*s, "gas", 20, ""), // the same value again
			xval(4*s, "gas", 5, "normal"),
			xval(5*s, "co", 50, ""),
			xval(6*s, "gas", 10.5, "alarm/expression"),
			xval(7*s, "co", 30, "normal"), // 30 is not above 30
		}},
		{"or waits for every point too", exprRule("smoke_density > 0.1 || temperature > 57"), []step{
			xval(0, "smoke_density", 0.5, ""),
			xval(s, "smoke_density", 0.6, ""),
			xval(2*s, "temperature", 20, "alarm/expression"),
			xval(3*s, "smoke_density", 0, "normal"),
			xval(4*s, "temperature", 57.1, "alarm/expression"),
		}},
		{"a bad reading is no value", exprRule("gas > 10 && co > 30"), []step{
			{at: 0, point: "co", v: f(40), bad: true},
			xval(s, "gas", 20, ""),
			{at: 2 * s, point: "gas", v: f(0), bad: true},
			xval(3*s, "co", 40, "alarm/expression"),
			{at: 4 * s, point: "gas", v: f(0), bad: true}, // ignored, gas is still 20
			xval(5*s, "co", 41, ""),
		}},
		{"a point it does not name wakes nothing", exprRule("gas > 10"), []step{
			xval(0, "battery", 5, ""), xval(s, "gas", 11, "alarm/expression"), xval(2*s, "battery", 100, ""),
		}},
		{"severity and on_samples", func() Rule {
			r := exprRule("gas >= 25")
			r.Severity, r.OnSamples = "fire", 2
			return r
		}(), []step{
			xval(0, "gas", 30, ""), xval(s, "gas", 30, "fire/expression"), xval(2*s, "gas", 0, "normal"),
		}},
		{"off_delay", func() Rule {
			r := exprRule("gas > 10")
			r.OffDelay = 10 * s
			return r
		}(), []step{
			xval(0, "gas", 30, "alarm/expression"), xval(s, "gas", 0, ""), tick(10*s, ""), tick(11*s, "normal"),
		}},
		{"a failed evaluation changes nothing", exprRule("int(gas) % int(co) == 0"), []step{
			xval(0, "gas", 4, ""), xval(s, "co", 2, "alarm/expression"),
			xval(2*s, "co", 0, ""), // integer division by zero
			xval(3*s, "co", 3, "normal"),
			xval(4*s, "co", 0, ""),
		}},
		{"let, builtins and arithmetic", exprRule("let total = gas + co / 10; abs(total) > 20 and max(gas, co) < 100"), []step{
			xval(0, "gas", 15, ""), xval(s, "co", 40, ""), xval(2*s, "co", 60, "alarm/expression"), xval(3*s, "gas", 200, "normal"),
		}},
		{"a point named like a builtin function", exprRule("count > 3"), []step{
			xval(0, "count", 4, "alarm/expression"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc.rule, "gas-1202", tc.script) })
	}
}

// TestExpressionPoints: the engine wakes the rule on exactly the points
// it names.
func TestExpressionPoints(t *testing.T) {
	e, err := New([]Rule{exprRule("let x = gas * 2; (x > co || smoke_density > 0.1) && gas > 1")}, testDevices)
	if err != nil {
		t.Fatal(err)
	}
	var pts []string
	for _, p := range e.devices["gas-1202"].byPoint {
		pts = append(pts, p.point)
	}
	slices.Sort(pts)
	if fmt.Sprint(pts) != "[co gas smoke_density]" {
		t.Fatalf("points %v", pts)
	}
}

func TestCompileExpr(t *testing.T) {
	for _, tc := range []struct {
		src   string
		known []string
		want  string // the points, or the error
	}{
		{"gas > 10 && co > 30", nil, "[co gas]"},
		{"co > 30 or gas > 10 and gas < 90", []string{"gas", "co", "battery"}, "[co gas]"},
		{"let x = gas; x > 1", nil, "[gas]"},
		{"all([gas, co], # > 10)", nil, "[co gas]"},
		// unknown names
		{"gass > 10", []string{"gas", "co"}, "1:1: unknown point gass (the selected devices measure: co, gas)"},
		{"gas > 10 && coo > 30", []string{"gas", "co"}, "1:13: unknown point coo (the selected devices measure: co, gas)"},
		{"foo(gas) > 1", nil, "1:1: unknown function foo (see expr-lang's builtins: abs, max, min, ...)"},
		{"gas.ppm > 1", nil, "1:5: type float64 has no field ppm"},
		// not a condition
		{"gas + co", nil, "1:1: gives a float64, not true or false (write a condition, e.g. gas > 10)"},
		{"gas > 10 ? true : 1", nil, "1:1: may give something other than true or false (write a condition, e.g. gas > 10)"},
		{`gas > "10"`, nil, "1:5: invalid operation: > (mismatched types float64 and string)"},
		{"gas > 1 and co", nil, "1:9: invalid operation: and (mismatched types bool and float64)"},
		{"true", nil, "1:1: names no point, so it would never be evaluated (e.g. gas > 10)"},
		// syntax
		{"gas >> 10", nil, `1:6: unexpected token Operator(">")`},
		{"gas > ", nil, "1:6: unexpected token EOF"},
		{"gas > 10 &&\n  co >", nil, "2:6: unexpected token EOF"},
		{"(gas > 10", nil, `1:9: unexpected token EOF`},
		{"", nil, "1:1: unexpected token EOF"},
		{"温度 > 10 && gas >", nil, "1:16: unexpected token EOF"}, // columns count characters
		// what a rule may not do
		{"now().Hour() > 22 && gas > 1", nil, "1:1: now() is not available: a rule never reads the clock (use on_delay or off_delay for time)"},
		{`$env["gas"] > 1`, nil, "1:1: $env is not available (name the point itself, e.g. gas)"},
	} {
		pts, err := CompileExpr(tc.src, tc.known)
		got := fmt.Sprint(pts)
		if err != nil {
			got = err.Error()
			var ee *ExprError
			if !errors.As(err, &ee) {
				t.Errorf("%q: %T is not an *ExprError", tc.src, err)
			}
		}
		if got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, got, tc.want)
		}
	}
}

func TestExpressionValidate(t *testing.T) {
	for _, tc := range []struct {
		rule Rule
		want []string
	}{
		{exprRule(""), []string{"expr: must be a condition over the device's points (e.g. gas > 10 && co > 30)"}},
		{exprRule("  "), []string{"expr: must be a condition"}},
		{exprRule("gas >> 10"), []string{`expr: unexpected token Operator(">") at 1:6 of "gas >> 10"`}},
		{exprRule("gas * 2"), []string{`expr: gives a float64, not true or false (write a condition, e.g. gas > 10) at 1:1 of "gas * 2"`}},
		{exprRule("foo(gas)"), []string{"expr: unknown function foo"}},
		{func() Rule { r := exprRule("gas > 1"); r.Point, r.Severity = "gas", "loud"; return r }(),
			[]string{"point: does not apply", `severity: "loud" is not a severity`}},
	} {
		checkProblems(t, tc.rule, tc.want)
	}
	r := exprRule("gas > 10 && co > 30")
	r.OnDelay, r.OffDelay, r.Latch, r.Severity = time.Second, time.Second, true, "fire"
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestExpressionShared: the devices a rule selects share one compiled
// program, and each keeps its own values.
func TestExpressionShared(t *testing.T) {
	r := exprRule("gas > 10")
	r.Select = Selector{}
	e, err := New([]Rule{r}, testDevices)
	if err != nil {
		t.Fatal(err)
	}
	a, b := e.all[0].check.(*expression), e.all[1].check.(*expression)
	if a.prog != b.prog {
		t.Error("each device compiled its own program")
	}
	got := e.Reading(nil, &shouwang.Reading{Device: "gas-1202", Point: "gas", Value: 11, Time: t0}, t0)
	got = e.Reading(got, &shouwang.Reading{Device: "smoke-1202", Point: "gas", Value: 1, Time: t0}, t0)
	if len(got) != 1 || got[0].Device != "gas-1202" {
		t.Fatalf("changes %v", got)
	}
}

// BenchmarkExpression evaluates readings against 10,000 devices under one
// expression rule. "changing": every reading brings a new value, which is
// boxed for expr-lang (one 8-byte allocation); "steady": each device
// repeats its values, so nothing is allocated; "arithmetic": the
// expression adds, and each sum is boxed on expr-lang's stack.
func BenchmarkExpression(b *testing.B) {
	const n = 10_000
	devices := make([]shouwang.Device, n)
	for i := range devices {
		devices[i] = shouwang.Device{ID: fmt.Sprintf("dev-%05d", i), Type: "gas"}
	}
	for _, bc := range []struct {
		name, src string
		change    bool
	}{
		{"changing", "gas > 10 && co > 30", true},
		{"steady", "gas > 10 && co > 30", false},
		{"arithmetic", "gas + co / 10 > 30", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := exprRule(bc.src)
			e, err := New([]Rule{r}, devices)
			if err != nil {
				b.Fatal(err)
			}
			readings := make([]shouwang.Reading, 4096)
			for i := range readings {
				readings[i] = shouwang.Reading{Device: devices[(i*7919)%n].ID, Point: []string{"gas", "co"}[i%2],
					Value: float64((i*13)%40) + 0.5, Time: t0}
			}
			buf := make([]Change, 0, 64)
			for _, d := range devices { // every device has both points
				buf = e.Reading(buf[:0], &shouwang.Reading{Device: d.ID, Point: "gas", Value: 1, Time: t0}, t0)
				buf = e.Reading(buf[:0], &shouwang.Reading{Device: d.ID, Point: "co", Value: 1, Time: t0}, t0)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r := &readings[i%len(readings)]
				if bc.change {
					r.Value = float64(i%40) + 0.5
				}
				buf = e.Reading(buf[:0], r, t0)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
		})
	}
}

// TestExpressionNewNeedsValidate: New takes rules that passed Validate; a
// bad expression that skipped it stops New loudly, naming the rule.
func TestExpressionNewNeedsValidate(t *testing.T) {
	defer func() {
		if p := fmt.Sprint(recover()); !strings.Contains(p, "rule kitchen did not pass Validate: expr: 1:6: unexpected token") {
			t.Fatalf("panic: %s", p)
		}
	}()
	New([]Rule{exprRule("gas >> 10")}, testDevices)
}
