package config

import (
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// reader walks a YAML node tree and collects problems with their lines.
type reader struct {
	file     string
	problems Problems
}

// problem records a problem at n's line.
func (r *reader) problem(n *yaml.Node, field, msg string) {
	line := 0
	if n != nil {
		line = n.Line
	}
	r.problems = append(r.problems, Problem{Source: source(r.file, line), Field: field, Msg: msg})
}

// pair is one key and value of a mapping.
type pair struct {
	key, val *yaml.Node
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or an explicit null.
func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// kindName names a node's kind for messages.
func kindName(n *yaml.Node) string {
	switch resolve(n).Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	}
	return "something else"
}

// fields returns the pairs of a mapping, reporting unknown and repeated keys.
// field names the mapping for messages ("" at top level).
func (r *reader) fields(n *yaml.Node, field string, known []string) []pair {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		r.problem(n, field, "want a mapping, got "+kindName(n))
		return nil
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		name := join(field, k.Value)
		switch {
		case seen[k.Value]:
			r.problem(k, name, "given twice")
			continue
		case known != nil && !slices.Contains(known, k.Value):
			r.problem(k, name, "unknown field (known: "+strings.Join(known, ", ")+")")
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{k, v})
	}
	return out
}

// list returns the items of a sequence (nil for null).
func (r *reader) list(n *yaml.Node, field string) []*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.problem(n, field, "want a list, got "+kindName(n))
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = resolve(c)
	}
	return out
}

// str reads a scalar as a string.
func (r *reader) str(n *yaml.Node, field string) string {
	n = resolve(n)
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		r.problem(n, field, "want a string, got "+kindName(n))
		return ""
	}
	return strings.TrimSpace(n.Value)
}

// duration reads a Go duration ("10s", "1m30s") that must be positive.
func (r *reader) duration(n *yaml.Node, field string, dst *time.Duration) {
	s := r.str(n, field)
	if s == "" {
		r.problem(n, field, "want a duration such as 10s")
		return
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		r.problem(n, field, "want a duration such as 10s, got "+quote(s))
		return
	}
	if d <= 0 {
		r.problem(n, field, "must be positive, got "+s)
		return
	}
	*dst = d
}

// strMap reads a mapping of scalars.
func (r *reader) strMap(n *yaml.Node, field string) map[string]string {
	if isNull(n) {
		return nil
	}
	out := map[string]string{}
	for _, kv := range r.fields(n, field, nil) {
		name := join(field, kv.key.Value)
		if kv.val.Kind != yaml.ScalarNode {
			r.problem(kv.val, name, "want a string, got "+kindName(kv.val))
			continue
		}
		out[kv.key.Value] = kv.val.Value
	}
	return out
}

// join builds a field path.
func join(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

// quote quotes s for messages.
func quote(s string) string {
	return `"` + s + `"`
}
