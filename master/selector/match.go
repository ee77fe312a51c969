package selector

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Matches reports whether facts satisfy every clause.
func (s *Selector) Matches(facts map[string]any) bool {
	if s == nil {
		return true
	}
	for i := range s.clauses {
		if !s.clauses[i].Matches(facts) {
			return false
		}
	}
	return true
}

// Matches reports whether facts satisfy the clause.
func (c *Clause) Matches(facts map[string]any) bool {
	v, ok := Lookup(facts, c.Key)
	switch c.Op {
	case OpExists:
		return ok
	case OpNotExists:
		return !ok
	case OpEq:
		return ok && Text(v) == c.Value
	case OpNe:
		return !ok || Text(v) != c.Value
	case OpMatch:
		return ok && c.re.MatchString(Text(v))
	}
	if !ok {
		return false
	}
	n, isNum := Number(v)
	if !isNum {
		return false
	}
	switch c.Op {
	case OpGe:
		return n >= c.Num
	case OpLe:
		return n <= c.Num
	case OpGt:
		return n > c.Num
	case OpLt:
		return n < c.Num
	}
	return false
}

// Lookup finds a dotted key in nested facts: "os.family" is
// facts["os"]["family"], or facts["os.family"] when a flat key holds the dots.
func Lookup(facts map[string]any, key string) (any, bool) {
	if facts == nil {
		return nil, false
	}
	if v, ok := facts[key]; ok {
		return v, true
	}
	// Try every split point, shortest head first: "a.b.c" → a / b.c, a.b / c.
	for i := 0; i < len(key); i++ {
		if key[i] != '.' {
			continue
		}
		head, ok := facts[key[:i]]
		if !ok {
			continue
		}
		if sub, ok := head.(map[string]any); ok {
			if v, ok := Lookup(sub, key[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}

// Text turns a fact value to the text that = != and ~= compare.
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case json.Number:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// Number reads a fact value as a number: numbers, and strings that parse as one.
func Number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}
