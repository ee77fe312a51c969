package monitoring

import (
	"fmt"
	"strconv"
	"strings"
)

// This file holds a small PromQL scanner, enough to list the metric names,
// label matchers and grouping labels an expression uses. It is not a parser:
// it skips strings, ranges, durations, numbers, functions and keywords, and
// reports every other identifier as a metric name. That is what the contract
// checks need, without pulling the whole Prometheus module into go.mod.

// selector is one vector selector: a metric name and its label matchers.
type selector struct {
	metric   string
	matchers []matcher
}

// matcher is one label matcher inside {...}.
type matcher struct {
	label, op, value string
}

// scanned is what an expression uses.
type scanned struct {
	selectors []selector
	// grouping holds the labels named in by, without, on, ignoring,
	// group_left and group_right lists.
	grouping []string
}

// groupingKeywords take a parenthesised label list.
var groupingKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true,
}

// otherKeywords are PromQL words that are never metric names: operators,
// modifiers, and the aggregation operators, which may be followed by a
// by/without clause instead of "(".
var otherKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true,
	"atan2": true, "inf": true, "nan": true, "start": true, "end": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true,
	"stddev": true, "stdvar": true, "count": true, "count_values": true,
	"bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// scanPromQL lists the selectors and grouping labels of expr.
func scanPromQL(expr string) (scanned, error) {
	s := &scanner{src: expr}
	if err := s.run(); err != nil {
		return scanned{}, fmt.Errorf("scanning %q at offset %d: %w", expr, s.pos, err)
	}
	return s.out, nil
}

type scanner struct {
	src string
	pos int
	out scanned
}

func (s *scanner) run() error {
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case isSpace(c):
			s.pos++
		case c == '#':
			for s.pos < len(s.src) && s.src[s.pos] != '\n' {
				s.pos++
			}
		case c == '"' || c == '\'' || c == '`':
			if _, err := s.str(); err != nil {
				return err
			}
		case c == '[':
			end := strings.IndexByte(s.src[s.pos:], ']')
			if end < 0 {
				return fmt.Errorf("range or subquery not closed with ]")
			}
			s.pos += end + 1
		case isDigit(c) || (c == '.' && s.pos+1 < len(s.src) && isDigit(s.src[s.pos+1])):
			// Numbers, and durations after offset: 5m, 1h30m, 1e3.
			for s.pos < len(s.src) && (isIdent(s.src[s.pos]) || s.src[s.pos] == '.') {
				s.pos++
			}
		case c == '$':
			// A Grafana variable outside a string, e.g. $__rate_interval.
			s.pos++
			for s.pos < len(s.src) && (isIdent(s.src[s.pos]) || s.src[s.pos] == '{' || s.src[s.pos] == '}') {
				s.pos++
			}
		case isIdentStart(c):
			if err := s.word(); err != nil {
				return err
			}
		case c == '{':
			ms, err := s.matchers()
			if err != nil {
				return err
			}
			sel := selector{matchers: ms}
			for _, m := range ms {
				if m.label == "__name__" && m.op == "=" {
					sel.metric = m.value
				}
			}
			if sel.metric == "" {
				return fmt.Errorf("selector without a metric name")
			}
			s.out.selectors = append(s.out.selectors, sel)
		default:
			s.pos++
		}
	}
	return nil
}

// word handles an identifier: keyword, function, or metric name.
func (s *scanner) word() error {
	start := s.pos
	for s.pos < len(s.src) && (isIdent(s.src[s.pos]) || s.src[s.pos] == ':') {
		s.pos++
	}
	w := s.src[start:s.pos]
	next := s.peek()
	lower := strings.ToLower(w)
	switch {
	case groupingKeywords[lower]:
		if next != '(' {
			return nil // group_left without a label list
		}
		labels, err := s.labelList()
		if err != nil {
			return fmt.Errorf("%s list: %w", w, err)
		}
		s.out.grouping = append(s.out.grouping, labels...)
	case otherKeywords[lower]:
	case next == '(':
		// A function or an aggregation; its arguments are scanned as usual.
	default:
		sel := selector{metric: w}
		if next == '{' {
			ms, err := s.matchers()
			if err != nil {
				return fmt.Errorf("matchers of %s: %w", w, err)
			}
			sel.matchers = ms
		}
		s.out.selectors = append(s.out.selectors, sel)
	}
	return nil
}

// peek skips blanks and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	for s.pos < len(s.src) && isSpace(s.src[s.pos]) {
		s.pos++
	}
	if s.pos == len(s.src) {
		return 0
	}
	return s.src[s.pos]
}

// labelList reads "(a, b)" at the current position.
func (s *scanner) labelList() ([]string, error) {
	s.pos++ // (
	var labels []string
	for {
		switch c := s.peek(); {
		case c == ')':
			s.pos++
			return labels, nil
		case c == ',':
			s.pos++
		case isIdentStart(c):
			start := s.pos
			for s.pos < len(s.src) && isIdent(s.src[s.pos]) {
				s.pos++
			}
			labels = append(labels, s.src[start:s.pos])
		default:
			return nil, fmt.Errorf("want a label name or ), got %q", string(c))
		}
	}
}

// matchers reads "{a="x", b=~"y"}" at the current position.
func (s *scanner) matchers() ([]matcher, error) {
	s.pos++ // {
	var ms []matcher
	for {
		c := s.peek()
		switch {
		case c == '}':
			s.pos++
			return ms, nil
		case c == ',':
			s.pos++
			continue
		case !isIdentStart(c):
			return nil, fmt.Errorf("want a label name or }, got %q", string(c))
		}
		start := s.pos
		for s.pos < len(s.src) && isIdent(s.src[s.pos]) {
			s.pos++
		}
		m := matcher{label: s.src[start:s.pos]}
		s.peek()
		for _, op := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(s.src[s.pos:], op) {
				m.op = op
				s.pos += len(op)
				break
			}
		}
		if m.op == "" {
			return nil, fmt.Errorf("label %s: want =, !=, =~ or !~", m.label)
		}
		if c := s.peek(); c != '"' && c != '\'' && c != '`' {
			return nil, fmt.Errorf("label %s: want a quoted value", m.label)
		}
		v, err := s.str()
		if err != nil {
			return nil, fmt.Errorf("label %s: %w", m.label, err)
		}
		m.value = v
		ms = append(ms, m)
	}
}

// str reads a quoted string at the current position and returns its value.
func (s *scanner) str() (string, error) {
	q := s.src[s.pos]
	i := s.pos + 1
	for i < len(s.src) && s.src[i] != q {
		if s.src[i] == '\\' && q != '`' {
			i++
		}
		i++
	}
	if i >= len(s.src) {
		return "", fmt.Errorf("string not closed with %c", q)
	}
	raw := s.src[s.pos : i+1]
	s.pos = i + 1
	if q == '\'' {
		raw = `"` + strings.ReplaceAll(raw[1:len(raw)-1], `"`, `\"`) + `"`
	}
	v, err := strconv.Unquote(raw)
	if err != nil {
		return "", fmt.Errorf("string %s: %w", raw, err)
	}
	return v, nil
}

func isSpace(c byte) bool      { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdent(c byte) bool      { return isIdentStart(c) && c != ':' || isDigit(c) }
