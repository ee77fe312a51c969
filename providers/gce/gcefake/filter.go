package gcefake

import (
	"fmt"
	"regexp"
	"strings"
)

// filter is a parsed list filter: terms that must all hold. It understands
// the forms the list methods document: AIP-160 comparisons (`=`, `!=`, and
// `:*` for "has the key"), optionally parenthesised and joined by AND or
// juxtaposition, e.g. `labels.agentcloud-owner = "x"` or
// `(labels.a = "1") (name != b)`; and the regular-expression form with `eq`
// and `ne` (`name eq 'agent-.*'`). Both forms cannot be mixed, as on the real
// API. OR and the ordering operators are not modelled and are refused.
type filter []term

// term is one comparison.
type term struct {
	field string // "name", "status", "labels.<key>"
	op    string // "=", "!=", ":*", "eq", "ne"
	value string
	re    *regexp.Regexp // for eq and ne
}

// parseFilter parses a filter expression; "" matches everything.
func parseFilter(s string) (filter, error) {
	var f filter
	p := &filterParser{s: s}
	for {
		p.space()
		if p.eof() {
			break
		}
		if p.keyword("AND") {
			continue
		}
		if p.keyword("OR") {
			return nil, fmt.Errorf("OR is not supported by the fake")
		}
		paren := p.peek() == '('
		if paren {
			p.i++
		}
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		if paren {
			p.space()
			if p.peek() != ')' {
				return nil, fmt.Errorf("missing ')' at offset %d", p.i)
			}
			p.i++
		}
		f = append(f, t)
	}
	regex, plain := false, false
	for _, t := range f {
		if t.re != nil {
			regex = true
		} else {
			plain = true
		}
	}
	if regex && plain {
		return nil, fmt.Errorf("regular-expression (eq, ne) and AIP-160 comparisons cannot be mixed")
	}
	return f, nil
}

// filterParser walks a filter string.
type filterParser struct {
	s string
	i int
}

func (p *filterParser) eof() bool { return p.i >= len(p.s) }

func (p *filterParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}

func (p *filterParser) space() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

// keyword consumes a whole-word keyword.
func (p *filterParser) keyword(k string) bool {
	if !strings.HasPrefix(p.s[p.i:], k) {
		return false
	}
	j := p.i + len(k)
	if j < len(p.s) && p.s[j] != ' ' && p.s[j] != '(' {
		return false
	}
	p.i = j
	return true
}

// term parses `field op value`.
func (p *filterParser) term() (term, error) {
	p.space()
	start := p.i
	for !p.eof() && strings.IndexByte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", p.peek()) >= 0 {
		p.i++
	}
	t := term{field: p.s[start:p.i]}
	if t.field == "" {
		return t, fmt.Errorf("expected a field name at offset %d", start)
	}
	p.space()
	switch {
	case strings.HasPrefix(p.s[p.i:], "!="):
		t.op, p.i = "!=", p.i+2
	case strings.HasPrefix(p.s[p.i:], ":*"):
		t.op, p.i = ":*", p.i+2
		return t, nil
	case strings.HasPrefix(p.s[p.i:], "="):
		t.op, p.i = "=", p.i+1
	case p.keyword("eq"):
		t.op = "eq"
	case p.keyword("ne"):
		t.op = "ne"
	default:
		return t, fmt.Errorf("unsupported operator after %q at offset %d (the fake knows =, !=, :*, eq, ne)", t.field, p.i)
	}
	p.space()
	v, err := p.value()
	if err != nil {
		return t, err
	}
	t.value = v
	if t.op == "eq" || t.op == "ne" {
		re, err := regexp.Compile("^(?:" + v + ")$")
		if err != nil {
			return t, fmt.Errorf("bad regular expression %q: %v", v, err)
		}
		t.re = re
	}
	return t, nil
}

// value parses a quoted or bare literal.
func (p *filterParser) value() (string, error) {
	if q := p.peek(); q == '"' || q == '\'' {
		p.i++
		var b strings.Builder
		for !p.eof() {
			c := p.s[p.i]
			p.i++
			switch {
			case c == '\\' && !p.eof():
				b.WriteByte(p.s[p.i])
				p.i++
			case c == q:
				return b.String(), nil
			default:
				b.WriteByte(c)
			}
		}
		return "", fmt.Errorf("unterminated quoted literal")
	}
	start := p.i
	for !p.eof() && p.s[p.i] != ' ' && p.s[p.i] != ')' {
		p.i++
	}
	if p.i == start {
		return "", fmt.Errorf("expected a value at offset %d", start)
	}
	return p.s[start:p.i], nil
}

// match reports whether every term holds for a resource whose fields get returns.
func (f filter) match(get func(field string) (string, bool)) bool {
	for _, t := range f {
		v, ok := get(t.field)
		switch t.op {
		case ":*":
			if !ok {
				return false
			}
		case "=":
			if !ok || v != t.value {
				return false
			}
		case "!=":
			if ok && v == t.value {
				return false
			}
		case "eq":
			if !t.re.MatchString(v) {
				return false
			}
		case "ne":
			if t.re.MatchString(v) {
				return false
			}
		}
	}
	return true
}

// fields lists the field names a filter may use; labels.<key> is always allowed.
func (f filter) check(known ...string) error {
	for _, t := range f {
		if strings.HasPrefix(t.field, "labels.") && len(t.field) > len("labels.") {
			continue
		}
		ok := false
		for _, k := range known {
			ok = ok || t.field == k
		}
		if !ok {
			return fmt.Errorf("the fake cannot filter on field %q", t.field)
		}
	}
	return nil
}

// resourceField returns a field of a resource for filtering.
func resourceField(name, status string, labels map[string]string) func(string) (string, bool) {
	return func(field string) (string, bool) {
		switch {
		case field == "name":
			return name, true
		case field == "status":
			return status, true
		case strings.HasPrefix(field, "labels."):
			v, ok := labels[strings.TrimPrefix(field, "labels.")]
			return v, ok
		}
		return "", false
	}
}
