// Package selector parses and evaluates fact selectors: the "selector" of a
// composition, which names the facts an agent must have to run it.
//
// # Syntax
//
// A selector is a list of clauses separated by commas; every clause must hold
// (comma = AND). The empty selector matches every agent. Spaces around clauses,
// keys, operators and values are ignored.
//
//	key=value     the fact, as text, equals value
//	key!=value    the fact is missing or, as text, differs from value
//	key>=N        the fact is a number >= N (also key<=N, key>N, key<N)
//	key exists    the fact is present (any value, even false or empty)
//	key !exists   the fact is missing
//	key~=regexp   the fact, as text, matches the Go regexp (unanchored: use ^ and $)
//
// Keys are dotted Facter names looked up in the nested facts map, e.g.
// "os.family" reads facts["os"]["family"]; a flat key holding dots
// (facts["os.family"]) matches too. Keys are letters, digits, '_', '-' and '.'.
// Values compare case-sensitively. A fact is turned to text this way: strings
// as they are, booleans as true/false, numbers in shortest form (4, not 4.0),
// anything else (maps, lists) as JSON. A numeric comparison with a fact that is
// missing or not a number does not match. A comma inside a value is written
// "\,"; "\\" is a backslash.
//
// Examples:
//
//	os.family=Debian,processors.count>=4
//	os.architecture~=^(amd64|x86_64)$, memory.system.total_bytes>8e9
//	gpu exists, kernel!=windows
package selector

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Op is a clause's operator.
type Op string

// Operators.
const (
	OpEq        Op = "="
	OpNe        Op = "!="
	OpGe        Op = ">="
	OpLe        Op = "<="
	OpGt        Op = ">"
	OpLt        Op = "<"
	OpExists    Op = "exists"
	OpNotExists Op = "!exists"
	OpMatch     Op = "~="
)

// Clause is one condition.
type Clause struct {
	Key   string
	Op    Op
	Value string  // for =, !=, ~= (the regexp source)
	Num   float64 // for >=, <=, >, <
	re    *regexp.Regexp
}

// Selector is a parsed selector. The zero value (and nil) match everything.
type Selector struct {
	src     string
	clauses []Clause
}

// ParseError says where and why a selector does not parse.
type ParseError struct {
	// Pos is the 1-based character position of the clause (or of the problem in it).
	Pos int
	// Clause is the clause's text as written.
	Clause string
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *ParseError) Error() string {
	return fmt.Sprintf("at position %d (clause %q): %s", e.Pos, e.Clause, e.Reason)
}

// Parse reads a selector. The error is a *ParseError.
func Parse(src string) (*Selector, error) {
	s := &Selector{src: src}
	if strings.TrimSpace(src) == "" {
		return s, nil
	}
	for _, raw := range split(src) {
		c, err := parseClause(raw)
		if err != nil {
			return nil, err
		}
		s.clauses = append(s.clauses, c)
	}
	return s, nil
}

// String returns the selector as written.
func (s *Selector) String() string {
	if s == nil {
		return ""
	}
	return s.src
}

// Clauses returns the parsed clauses.
func (s *Selector) Clauses() []Clause {
	if s == nil {
		return nil
	}
	return s.clauses
}

// rawClause is the text of one clause with its start position in the source.
type rawClause struct {
	text string // unescaped
	src  string // as written, trimmed
	pos  int    // 0-based offset of src in the selector
}

// split cuts src at unescaped commas, undoing "\," and "\\".
func split(src string) []rawClause {
	var out []rawClause
	var cur strings.Builder
	start := 0
	flush := func(end int) {
		written := src[start:end]
		lead := len(written) - len(strings.TrimLeft(written, " \t"))
		out = append(out, rawClause{
			text: strings.TrimSpace(cur.String()),
			src:  strings.TrimSpace(written),
			pos:  start + lead,
		})
		cur.Reset()
	}
	for i := 0; i < len(src); i++ {
		switch ch := src[i]; {
		case ch == '\\' && i+1 < len(src) && (src[i+1] == ',' || src[i+1] == '\\'):
			cur.WriteByte(src[i+1])
			i++
		case ch == ',':
			flush(i)
			start = i + 1
		default:
			cur.WriteByte(ch)
		}
	}
	flush(len(src))
	return out
}

func isKeyByte(b byte) bool {
	return b == '.' || b == '_' || b == '-' ||
		(b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
}

func parseClause(rc rawClause) (Clause, error) {
	fail := func(off int, format string, args ...any) (Clause, error) {
		return Clause{}, &ParseError{Pos: rc.pos + off + 1, Clause: rc.src, Reason: fmt.Sprintf(format, args...)}
	}
	t := rc.text
	if t == "" {
		return fail(0, "empty clause (two commas in a row, or a comma at an end)")
	}
	i := 0
	for i < len(t) && isKeyByte(t[i]) {
		i++
	}
	key := t[:i]
	if key == "" {
		return fail(0, "expected a fact name (letters, digits, '.', '_', '-'), found %q", t[:1])
	}
	if strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") || strings.Contains(key, "..") {
		return fail(0, "fact name %q has an empty dotted part", key)
	}
	rest := strings.TrimLeft(t[i:], " \t")
	opOff := len(t) - len(rest)
	c := Clause{Key: key}
	switch {
	case rest == "":
		return fail(opOff, "missing operator after %q (one of = != >= <= > < ~= exists !exists)", key)
	case rest == "exists":
		c.Op = OpExists
		return c, nil
	case rest == "!exists":
		c.Op = OpNotExists
		return c, nil
	}
	for _, op := range []Op{OpNe, OpGe, OpLe, OpMatch, OpEq, OpGt, OpLt} {
		if strings.HasPrefix(rest, string(op)) {
			c.Op = op
			break
		}
	}
	if c.Op == "" {
		return fail(opOff, "unknown operator at %q (want one of = != >= <= > < ~= exists !exists)", rest)
	}
	valOff := opOff + len(c.Op)
	value := strings.TrimSpace(rest[len(c.Op):])
	switch c.Op {
	case OpEq, OpNe:
		if strings.HasPrefix(value, "=") {
			return fail(valOff, "value starts with '=': write %s%svalue, not %s%s=value", key, c.Op, key, c.Op)
		}
		c.Value = value
	case OpMatch:
		if value == "" {
			return fail(valOff, "empty regexp after ~=")
		}
		re, err := regexp.Compile(value)
		if err != nil {
			return fail(valOff, "bad regexp %q: %v", value, err)
		}
		c.Value, c.re = value, re
	default:
		if value == "" {
			return fail(valOff, "missing number after %s", c.Op)
		}
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fail(valOff, "%q after %s is not a number", value, c.Op)
		}
		c.Num = n
	}
	return c, nil
}
