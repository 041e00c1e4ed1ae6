package route

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// function is a built-in function. Its arguments are checked at parse time:
// their number against min and max (max < 0: any number from min), their
// types against args (the last entry repeats).
type function struct {
	name     string
	min, max int
	args     []typeMask
	ret      typeMask
	id       fnID
}

// fnID names a function for the evaluator's switch; calls go through a
// switch rather than function values so that arguments stay on the stack.
type fnID uint8

const (
	fnAbs fnID = iota + 1
	fnExp
	fnPow
	fnSquare
	fnCeiling
	fnFloor
	fnSign
	fnSqrt
	fnAsNum
	fnIsBool
	fnIsDefined
	fnIsNull
	fnIsNumber
	fnIsString
	fnIsObject
	fnIsArray
	fnIsPrimitive
	fnConcatID
	fnLengthID
	fnLower
	fnUpper
	fnSubstringID
	fnIndexOfID
	fnStartsWith
	fnEndsWith
	fnContains
)

const (
	numArg = mNum | mProp
	strArg = mStr | mProp
)

var functions map[string]*function

func init() {
	list := []*function{
		{name: "ABS", min: 1, max: 1, args: []typeMask{numArg}, ret: mNum | mUndef, id: fnAbs},
		{name: "EXP", min: 1, max: 1, args: []typeMask{numArg}, ret: mNum | mUndef, id: fnExp},
		{name: "POWER", min: 2, max: 2, args: []typeMask{numArg}, ret: mNum | mUndef, id: fnPow},
		{name: "SQUARE", min: 1, max: 1, args: []typeMask{numArg}, ret: mNum | mUndef, id: fnSquare},
		{name: "CEILING", min: 1, max: 1, args: []typeMask{numArg}, ret: mNum | mUndef, id: fnCeiling},
		{name: "FLOOR", min: 1, max: 1, args: []typeMask{numArg}, ret: mNum | mUndef, id: fnFloor},
		{name: "SIGN", min: 1, max: 1, args: []typeMask{numArg}, ret: mNum | mUndef, id: fnSign},
		{name: "SQRT", min: 1, max: 1, args: []typeMask{numArg}, ret: mNum | mUndef, id: fnSqrt},
		{name: "AS_NUMBER", min: 1, max: 1, args: []typeMask{mAny}, ret: mNum | mUndef, id: fnAsNum},
		{name: "IS_BOOL", min: 1, max: 1, args: []typeMask{mAny}, ret: mBool, id: fnIsBool},
		{name: "IS_DEFINED", min: 1, max: 1, args: []typeMask{mAny}, ret: mBool, id: fnIsDefined},
		{name: "IS_NULL", min: 1, max: 1, args: []typeMask{mAny}, ret: mBool, id: fnIsNull},
		{name: "IS_NUMBER", min: 1, max: 1, args: []typeMask{mAny}, ret: mBool, id: fnIsNumber},
		{name: "IS_STRING", min: 1, max: 1, args: []typeMask{mAny}, ret: mBool, id: fnIsString},
		{name: "IS_OBJECT", min: 1, max: 1, args: []typeMask{mAny}, ret: mBool, id: fnIsObject},
		{name: "IS_ARRAY", min: 1, max: 1, args: []typeMask{mAny}, ret: mBool, id: fnIsArray},
		{name: "IS_PRIMITIVE", min: 1, max: 1, args: []typeMask{mAny}, ret: mBool, id: fnIsPrimitive},
		{name: "CONCAT", min: 2, max: -1, args: []typeMask{strArg}, ret: mStr | mUndef, id: fnConcatID},
		{name: "LENGTH", min: 1, max: 1, args: []typeMask{strArg}, ret: mNum | mUndef, id: fnLengthID},
		{name: "LOWER", min: 1, max: 1, args: []typeMask{strArg}, ret: mStr | mUndef, id: fnLower},
		{name: "UPPER", min: 1, max: 1, args: []typeMask{strArg}, ret: mStr | mUndef, id: fnUpper},
		{name: "SUBSTRING", min: 3, max: 3, args: []typeMask{strArg, numArg, numArg}, ret: mStr | mUndef,
			id: fnSubstringID},
		{name: "INDEX_OF", min: 2, max: 2, args: []typeMask{strArg}, ret: mNum | mUndef, id: fnIndexOfID},
		{name: "STARTS_WITH", min: 2, max: 2, args: []typeMask{strArg}, ret: mBool | mUndef, id: fnStartsWith},
		{name: "ENDS_WITH", min: 2, max: 2, args: []typeMask{strArg}, ret: mBool | mUndef, id: fnEndsWith},
		{name: "CONTAINS", min: 2, max: 2, args: []typeMask{strArg}, ret: mBool | mUndef, id: fnContains},
	}
	functions = make(map[string]*function, len(list))
	for _, f := range list {
		functions[f.name] = f
	}
}

// argType is the type the i-th argument must accept.
func (f *function) argType(i int) typeMask {
	if i >= len(f.args) {
		return f.args[len(f.args)-1]
	}
	return f.args[i]
}

// arity describes the argument count for messages.
func (f *function) arity() string {
	if f.max < 0 {
		return "at least " + plural(f.min, "argument")
	}
	return plural(f.min, "argument") // every other function has a fixed count
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// suggestFunction returns the known function closest to name, or "".
func suggestFunction(name string) string {
	up := strings.ToUpper(name)
	best, bestDist := "", max(2, len(name)/3+1) // suggest at distance < bestDist
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if d := editDistance(up, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// call applies f to its evaluated arguments.
func (f *function) call(a []value) value {
	switch f.id {
	case fnAbs:
		return math1(a[0], math.Abs)
	case fnExp:
		return math1(a[0], math.Exp)
	case fnPow:
		x, ok1 := a[0].number()
		y, ok2 := a[1].number()
		if !ok1 || !ok2 {
			return undefined
		}
		return numValue(math.Pow(x, y))
	case fnSquare:
		return math1(a[0], func(x float64) float64 { return x * x })
	case fnCeiling:
		return math1(a[0], math.Ceil)
	case fnFloor:
		return math1(a[0], math.Floor)
	case fnSign:
		return math1(a[0], sign)
	case fnSqrt:
		return math1(a[0], math.Sqrt)
	case fnAsNum:
		return asNumber(a[0])
	case fnIsBool:
		return boolValue(a[0].k == kBool)
	case fnIsDefined:
		return boolValue(a[0].k != kUndef)
	case fnIsNull:
		return boolValue(a[0].k == kNull)
	case fnIsNumber:
		return boolValue(a[0].k == kNum)
	case fnIsString:
		return boolValue(a[0].k == kStr)
	case fnIsObject:
		return boolValue(a[0].k == kObj)
	case fnIsArray:
		return boolValue(a[0].k == kArr)
	case fnIsPrimitive:
		k := a[0].k
		return boolValue(k == kNull || k == kBool || k == kNum || k == kStr)
	case fnConcatID:
		return concat(a)
	case fnLengthID:
		if a[0].k != kStr {
			return undefined
		}
		return numValue(float64(utf8.RuneCountInString(a[0].s)))
	case fnLower:
		return str1(a[0], strings.ToLower)
	case fnUpper:
		return str1(a[0], strings.ToUpper)
	case fnSubstringID:
		return substring(a[0], a[1], a[2])
	case fnIndexOfID:
		return indexOf(a[0], a[1])
	case fnStartsWith:
		return str2(a[0], a[1], strings.HasPrefix)
	case fnEndsWith:
		return str2(a[0], a[1], strings.HasSuffix)
	case fnContains:
		return str2(a[0], a[1], strings.Contains)
	}
	return undefined
}

func math1(v value, f func(float64) float64) value {
	x, ok := v.number()
	if !ok {
		return undefined
	}
	return numValue(f(x))
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x // 0 and NaN
}

// asNumber converts a number or a string in JSON number syntax to a number.
func asNumber(v value) value {
	switch v.k {
	case kNum:
		return numValue(v.n)
	case kStr:
		if f, ok := parseNumberString(v.s); ok {
			return numValue(f)
		}
	}
	return undefined
}

// concat joins strings; any other argument makes it undefined.
func concat(a []value) value {
	n := 0
	for _, v := range a {
		if v.k != kStr {
			return undefined
		}
		n += len(v.s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, v := range a {
		b.WriteString(v.s)
	}
	return strValue(b.String())
}

func str1(v value, f func(string) string) value {
	if v.k != kStr {
		return undefined
	}
	return strValue(f(v.s))
}

func str2(a, b value, f func(string, string) bool) value {
	if a.k != kStr || b.k != kStr {
		return undefined
	}
	return boolValue(f(a.s, b.s))
}

// substring returns length characters of s from the 0-based character
// position start. Both are truncated to integers; a negative start counts
// as 0, and the result stops at the end of s.
func substring(str, startV, lengthV value) value {
	start, ok1 := startV.number()
	length, ok2 := lengthV.number()
	if str.k != kStr || !ok1 || !ok2 || math.IsNaN(start) || math.IsNaN(length) {
		return undefined
	}
	s := str.s
	from := clampCount(start)
	n := clampCount(length)
	i := 0 // character index
	bFrom, bTo := len(s), len(s)
	for off := range s {
		if i == from {
			bFrom = off
		}
		if i == from+n {
			bTo = off
			break
		}
		i++
	}
	if bFrom > bTo {
		bFrom = bTo
	}
	return strValue(s[bFrom:bTo])
}

// clampCount truncates f to a count in [0, 1<<30].
func clampCount(f float64) int {
	switch {
	case f <= 0:
		return 0
	case f >= 1<<30:
		return 1 << 30
	}
	return int(f)
}

// indexOf returns the 0-based character position of the first occurrence
// of the second string in the first, or -1.
func indexOf(a, b value) value {
	if a.k != kStr || b.k != kStr {
		return undefined
	}
	i := strings.Index(a.s, b.s)
	if i < 0 {
		return numValue(-1)
	}
	return numValue(float64(utf8.RuneCountInString(a.s[:i])))
}
