package route

import "math"

// evalCtx holds what one message's evaluation shares between routes: the
// message and, once a route has asked for it, its parsed body.
type evalCtx struct {
	m     *Message
	state bodyState
	doc   *bodyDoc
}

// testHookBodyParse, when set by a test, is called on every body parse.
var testHookBodyParse func()

type bodyState uint8

const (
	bodyUnparsed bodyState = iota
	bodyParsed
	bodyUnavailable // not JSON in a supported encoding, or malformed
)

// release returns the parsed body's buffers to the pool.
func (c *evalCtx) release() {
	if c.doc != nil {
		putDoc(c.doc)
		c.doc = nil
	}
}

// body parses the message body on first use and returns it, or nil when
// $body queries are undefined for this message.
func (c *evalCtx) body() *bodyDoc {
	switch c.state {
	case bodyParsed:
		return c.doc
	case bodyUnavailable:
		return nil
	}
	c.state = bodyUnavailable
	if testHookBodyParse != nil {
		testHookBodyParse()
	}
	d := getDoc()
	if !d.load(c.m) {
		putDoc(d)
		return nil
	}
	c.doc = d
	c.state = bodyParsed
	return d
}

// truth evaluates a condition: only an exact true matches.
func (c *evalCtx) truth(e *expr) bool {
	v := c.eval(e)
	return v.k == kBool && v.b
}

func (c *evalCtx) eval(e *expr) value {
	switch e.op {
	case opLit:
		return e.lit
	case opProp:
		if s, ok := c.m.Properties[e.name]; ok {
			return propValue(s)
		}
		return undefined
	case opSys:
		// $x names an application property "$x" when the message has one;
		// {$x} always names the system property.
		if !e.brace {
			if s, ok := c.m.Properties[e.name]; ok {
				return propValue(s)
			}
		}
		if s := e.sys.value(c.m); s != "" {
			return propValue(s)
		}
		return undefined
	case opBody:
		return c.evalBody(e.path)
	case opFunc:
		return c.evalFunc(e)
	case opNot:
		v := c.eval(e.args[0])
		if v.k != kBool {
			return undefined
		}
		return boolValue(!v.b)
	case opNeg:
		x, ok := c.eval(e.args[0]).number()
		if !ok {
			return undefined
		}
		return numValue(-x)
	case opAnd:
		l := c.eval(e.args[0])
		if l.k == kBool && !l.b {
			return l
		}
		r := c.eval(e.args[1])
		if r.k == kBool && !r.b {
			return r
		}
		if l.k == kBool && r.k == kBool {
			return boolValue(true)
		}
		return undefined
	case opOr:
		l := c.eval(e.args[0])
		if l.k == kBool && l.b {
			return l
		}
		r := c.eval(e.args[1])
		if r.k == kBool && r.b {
			return r
		}
		if l.k == kBool && r.k == kBool {
			return boolValue(false)
		}
		return undefined
	case opCoalesce:
		if l := c.eval(e.args[0]); l.k != kUndef {
			return l
		}
		return c.eval(e.args[1])
	case opConcat:
		l, r := c.eval(e.args[0]), c.eval(e.args[1])
		if l.k != kStr || r.k != kStr {
			return undefined
		}
		return strValue(l.s + r.s)
	case opMul, opDiv, opMod, opAdd, opSub:
		x, ok1 := c.eval(e.args[0]).number()
		y, ok2 := c.eval(e.args[1]).number()
		if !ok1 || !ok2 {
			return undefined
		}
		return arith(e.op, x, y)
	case opLt, opLe, opGt, opGe, opEq, opNe:
		l, r := c.eval(e.args[0]), c.eval(e.args[1])
		if l.k == kUndef || r.k == kUndef {
			// As the IoT Hub query language: a comparison with an
			// operand that has no value is false, whatever the
			// operator, so NOT (missing = 'x') is true.
			return boolValue(false)
		}
		cmp, ok := compare(l, r)
		if !ok {
			return undefined
		}
		return boolValue(holds(e.op, cmp))
	}
	return undefined
}

func arith(o op, x, y float64) value {
	switch o {
	case opMul:
		return numValue(x * y)
	case opDiv:
		return numValue(x / y) // x/0 is infinite or NaN: undefined
	case opMod:
		return numValue(math.Mod(x, y))
	case opAdd:
		return numValue(x + y)
	}
	return numValue(x - y)
}

func holds(o op, cmp int) bool {
	switch o {
	case opLt:
		return cmp < 0
	case opLe:
		return cmp <= 0
	case opGt:
		return cmp > 0
	case opGe:
		return cmp >= 0
	case opEq:
		return cmp == 0
	}
	return cmp != 0
}

// evalFunc evaluates the arguments into a stack array (functions take at
// most three, except CONCAT) and calls the function.
func (c *evalCtx) evalFunc(e *expr) value {
	var buf [4]value
	args := buf[:0]
	if len(e.args) > len(buf) {
		args = make([]value, 0, len(e.args))
	}
	for _, a := range e.args {
		args = append(args, c.eval(a))
	}
	return e.fn.call(args)
}

// evalBody follows a $body path.
func (c *evalCtx) evalBody(path []pathSeg) value {
	d := c.body()
	if d == nil {
		return undefined
	}
	n := int32(0)
	for _, s := range path {
		if s.isIndex {
			n = d.index(n, s.index)
		} else {
			n = d.field(n, s.name)
		}
		if n < 0 {
			return undefined
		}
	}
	return d.value(n)
}
