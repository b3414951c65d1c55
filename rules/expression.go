package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/shouwang-iot/shouwang"
)

// An expression rule raises, with its severity (alarm unless it says
// otherwise), while a condition over the device's latest points holds, e.g.
// "gas > 10 && co > 30" or "smoke_density > 0.1 || temperature > 57". The
// condition is written in expr-lang (https://expr-lang.org); each name in
// it is a point and stands for the device's latest good value of that
// point. It is evaluated on every good reading of a point it names; until
// each of them has had a value, it is false, or, restored after a restart,
// it holds (the latest values are not journaled). An evaluation that
// fails (an integer division by zero) changes nothing. on_delay,
// on_samples and off_delay apply as for a threshold.
func init() {
	register(TypeExpression, ruleType{
		validate:   validateExpression,
		newChecker: newExpression,
		points: func(r *Rule) []string {
			if c, err := compileCached(r.Expr); err == nil {
				return c.points
			}
			return []string{}
		},
	})
}

// levelExpression is the Level of an expression rule's changes.
const levelExpression = "expression"

func validateExpression(r *Rule, fe *shouwang.FieldErrors) {
	if strings.TrimSpace(r.Expr) == "" {
		fe.Add("expr", "must be a condition over the device's points (e.g. gas > 10 && co > 30)")
		return
	}
	if _, err := compileCached(r.Expr); err != nil {
		var ee *ExprError
		if errors.As(err, &ee) {
			fe.Add("expr", "%s at %d:%d of %q", ee.Msg, ee.Line, ee.Column, r.Expr)
		} else {
			fe.Add("expr", "%v", err)
		}
	}
}

// ExprError is a problem in an expression rule's condition, placed in the
// expression's own text, so that a config check can add the position of
// the expr field and point at the very character.
type ExprError struct {
	Line   int // from 1
	Column int // from 1, in characters (runes), not bytes
	Msg    string
}

func (e *ExprError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg) }

// CompileExpr checks an expression rule's condition and returns the points
// it reads, sorted.
//
// known, when not nil, lists every point the expression may name (the
// points the selected devices' profiles list); any other name is an
// unknown point. With known nil (as Rule.Validate calls it, knowing no
// devices), every name that is not a function is taken for a point.
// Either way it is an error for the condition not to be true or false, to
// call an unknown function, to read the clock (now()) or to name no point.
// Every error is an *ExprError.
func CompileExpr(src string, known []string) ([]string, error) {
	c, err := compileExpr(src, known)
	if err != nil {
		return nil, err
	}
	return slices.Clone(c.points), nil
}

// compiledExpr is an expression compiled for evaluation. It is shared by
// the checkers of every device a rule selects; a vm.Program is safe for
// concurrent use.
type compiledExpr struct {
	prog   *vm.Program
	points []string // sorted
}

// exprCache keeps the expressions compiled with known nil, by source, so
// that New compiles a rule's expression once however many devices it
// selects, and their checkers share one program. What it holds depends on
// the source alone, so it changes no result. It is emptied when it
// reaches exprCacheSize entries.
var exprCache struct {
	sync.Mutex
	m map[string]*compiledExpr
}

const exprCacheSize = 256

func compileCached(src string) (*compiledExpr, error) {
	exprCache.Lock()
	c := exprCache.m[src]
	exprCache.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := compileExpr(src, nil)
	if err != nil {
		return nil, err
	}
	exprCache.Lock()
	if exprCache.m == nil || len(exprCache.m) >= exprCacheSize {
		exprCache.m = map[string]*compiledExpr{}
	}
	exprCache.m[src] = c
	exprCache.Unlock()
	return c, nil
}

// exprNames is what an expression's syntax tree names.
type exprNames struct {
	idents   map[string]bool // every identifier
	declared map[string]bool // let variables
	callees  map[string]bool // called as functions
	bad      *ExprError      // the first construct a rule may not use
	src      string
}

func (n *exprNames) Visit(node *ast.Node) {
	switch x := (*node).(type) {
	case *ast.IdentifierNode:
		n.idents[x.Value] = true
		if x.Value == "$env" {
			n.refuse(x, "$env is not available (name the point itself, e.g. gas)")
		}
	case *ast.VariableDeclaratorNode:
		n.declared[x.Name] = true
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok {
			n.callees[id.Value] = true
		}
	case *ast.BuiltinNode:
		if x.Name == "now" {
			n.refuse(x, "now() is not available: a rule never reads the clock (use on_delay or off_delay for time)")
		}
	}
}

func (n *exprNames) refuse(node ast.Node, msg string) {
	if n.bad == nil {
		n.bad = exprErrorAt(n.src, node.Location().From, msg)
	}
}

func compileExpr(src string, known []string) (*compiledExpr, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, exprError(src, err, nil)
	}
	n := &exprNames{idents: map[string]bool{}, declared: map[string]bool{}, callees: map[string]bool{}, src: src}
	ast.Walk(&tree.Node, n)
	if n.bad != nil {
		return nil, n.bad
	}
	// A name used bare is a point, even one spelled like a builtin
	// function (count): points are the operator's names.
	isPoint := func(name string) bool { return !n.declared[name] && !n.callees[name] && name != "$env" }
	var points []string
	for name := range n.idents {
		if isPoint(name) && (known == nil || slices.Contains(known, name)) {
			points = append(points, name)
		}
	}
	slices.Sort(points)
	envPoints := points
	if known != nil {
		envPoints = known
	}
	env := make(map[string]any, len(envPoints))
	for _, p := range envPoints {
		if isPoint(p) {
			env[p] = 0.0
		}
	}
	prog, err := expr.Compile(src, expr.Env(env), expr.AsBool(), expr.WarnOnAny(), expr.DisableBuiltin("now"))
	if err != nil {
		return nil, exprError(src, err, func(name string) string {
			switch {
			case n.callees[name]:
				return fmt.Sprintf("unknown function %s (see expr-lang's builtins: abs, max, min, ...)", name)
			case known != nil:
				k := slices.Clone(known)
				slices.Sort(k)
				return fmt.Sprintf("unknown point %s (the selected devices measure: %s)", name, strings.Join(k, ", "))
			}
			return ""
		})
	}
	if len(points) == 0 {
		return nil, &ExprError{Line: 1, Column: 1, Msg: "names no point, so it would never be evaluated (e.g. gas > 10)"}
	}
	return &compiledExpr{prog: prog, points: points}, nil
}

// exprError turns what expr-lang returned into an *ExprError with a
// message an operator can act on; unknown rewrites "unknown name X"
// (empty for no rewrite).
func exprError(src string, err error, unknown func(name string) string) *ExprError {
	msg, from := err.Error(), 0
	var fe *file.Error
	if errors.As(err, &fe) {
		msg, from = fe.Message, fe.From
	}
	if name, ok := strings.CutPrefix(msg, "unknown name "); ok && unknown != nil {
		if m := unknown(name); m != "" {
			msg = m
		}
	}
	switch got, ok := strings.CutPrefix(msg, "expected bool, but got "); {
	case !ok:
	case got == "unknown" || got == "interface {}":
		msg = "may give something other than true or false (write a condition, e.g. gas > 10)"
	default:
		msg = fmt.Sprintf("gives a %s, not true or false (write a condition, e.g. gas > 10)", got)
	}
	return exprErrorAt(src, from, msg)
}

// exprErrorAt places msg at the rune offset from of src.
func exprErrorAt(src string, from int, msg string) *ExprError {
	e := &ExprError{Line: 1, Column: 1, Msg: msg}
	i := 0
	for _, r := range src {
		if i == from {
			break
		}
		if r == '\n' {
			e.Line, e.Column = e.Line+1, 1
		} else {
			e.Column++
		}
		i++
	}
	return e
}

// expression is one expression rule on one device.
type expression struct {
	prog *vm.Program
	// env holds the latest good value of each point the expression
	// names, boxed as expr-lang reads them; it is reused, and a value is
	// boxed again only when it changes.
	env      map[string]any
	missing  int // points without a value yet
	severity shouwang.Severity
	vm       vm.VM // reused: its stack survives between runs
	last     cond  // what the latest evaluation concluded, or the restored condition
}

func newExpression(r *Rule, _ *shouwang.Device) checker {
	c, err := compileCached(r.Expr)
	if err != nil {
		// New takes rules that passed Validate, which compiles the same
		// source the same way.
		panic(fmt.Sprintf("rules: rule %s did not pass Validate: expr: %v", r.ID, err))
	}
	return &expression{prog: c.prog, env: make(map[string]any, len(c.points)), missing: len(c.points),
		severity: severityOr(r.Severity, shouwang.Alarm)}
}

func (x *expression) reading(r *shouwang.Reading, _ time.Time) cond {
	switch old, had := x.env[r.Point]; {
	case !had:
		x.missing--
		x.env[r.Point] = r.Value
	default:
		if v, _ := old.(float64); v != r.Value {
			x.env[r.Point] = r.Value
		}
	}
	if x.missing > 0 {
		c := x.last // normal, or the restored condition holding
		c.point, c.value = r.Point, r.Value
		return c
	}
	out, err := x.vm.Run(x.prog, x.env)
	if err != nil {
		c := x.last // an evaluation that fails changes nothing
		c.point, c.value = r.Point, r.Value
		return c
	}
	if holds, _ := out.(bool); holds {
		x.last = cond{active: true, severity: x.severity, level: levelExpression, point: r.Point, value: r.Value}
	} else {
		x.last = cond{point: r.Point, value: r.Value}
	}
	return x.last
}

func (x *expression) restore(c cond, _ time.Time) {
	x.last = cond{active: true, severity: x.severity, level: levelExpression, point: c.point, value: c.value}
}

func (x *expression) event(*shouwang.Event, time.Time) (cond, bool) { return cond{}, false }
func (x *expression) tick(time.Time) (cond, bool)                   { return cond{}, false }
