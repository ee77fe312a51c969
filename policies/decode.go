package policies

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder reads typed values out of YAML nodes of one file, recording a
// Problem for each bad one and carrying on.
type decoder struct {
	l    *loader
	file string
	// info, when set, records each field's line and which failed (a pool's fields).
	info *loadInfo
}

// loadInfo is what Load remembers about a pool's fields for Validate.
type loadInfo struct {
	// lines maps a field ("max_agents", "schedule[0].cron") to "file:line".
	lines map[string]string
	// bad holds the fields that failed to parse or are missing: Validate skips them.
	bad map[string]bool
	// set holds the fields the file gave (not null), for defaults.
	set map[string]bool
}

func newLoadInfo() *loadInfo {
	return &loadInfo{lines: map[string]string{}, bad: map[string]bool{}, set: map[string]bool{}}
}

func (d *decoder) problem(n *yaml.Node, field, msg string) {
	d.l.problem(d.file, n.Line, field, msg)
}

// fail records a problem with a field's value and marks the field bad.
func (d *decoder) fail(n *yaml.Node, field, msg string) {
	if d.info != nil {
		d.info.bad[field] = true
	}
	d.problem(n, field, msg)
}

// seen records where a field was given; it reports false for a null value,
// which counts as left out.
func (d *decoder) seen(field string, n *yaml.Node) bool {
	if d.info != nil {
		d.info.lines[field] = source(d.file, n.Line)
	}
	if isNull(n) {
		return false
	}
	if d.info != nil {
		d.info.set[field] = true
	}
	return true
}

// scalar returns n's text, or reports that field wants a want-kind value.
func (d *decoder) scalar(field string, n *yaml.Node, want string) (string, bool) {
	if !d.seen(field, n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(n, field, "want "+want+", got "+kindName(n))
		return "", false
	}
	return n.Value, true
}

// str reads a string. Any scalar is accepted as its text.
func (d *decoder) str(field string, n *yaml.Node, dst *string) {
	if v, ok := d.scalar(field, n, "a string"); ok {
		*dst = v
	}
}

// int reads a whole number.
func (d *decoder) int(field string, n *yaml.Node, dst *int) {
	v, ok := d.scalar(field, n, "a whole number")
	if !ok {
		return
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 0, 0)
	if n.Tag != "!!int" || err != nil {
		d.fail(n, field, fmt.Sprintf("bad number %q (want a whole number like 10)", v))
		return
	}
	*dst = int(i)
}

// dur reads a Go duration.
func (d *decoder) dur(field string, n *yaml.Node, dst *time.Duration) {
	v, ok := d.scalar(field, n, "a duration")
	if !ok {
		return
	}
	t, err := time.ParseDuration(v)
	if err != nil {
		d.fail(n, field, fmt.Sprintf("bad duration %q (use Go durations like 90s, 10m, 1h)", v))
		return
	}
	*dst = t
}

// list returns the items of a sequence (nil for null), or reports field's kind.
func (d *decoder) list(n *yaml.Node, field string) []*yaml.Node {
	if !d.seen(field, n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, field, "want a list, got "+kindName(n))
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = resolve(c)
	}
	return items
}

// mapping returns the pairs of a mapping (nil for null), or reports field's kind.
func (d *decoder) mapping(n *yaml.Node, field, where string) []keyValue {
	if !d.seen(field, n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, field, "want a mapping, got "+kindName(n))
		return nil
	}
	return d.pairs(n, where)
}

// keyValue is one entry of a mapping, its value's aliases resolved.
type keyValue struct{ key, val *yaml.Node }

// pairs returns a mapping's entries, with "<<" merge keys expanded (the
// mapping's own keys win) and duplicate keys reported.
func (d *decoder) pairs(m *yaml.Node, where string) []keyValue {
	var out, merged []keyValue
	first := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], resolve(m.Content[i+1])
		if k.Tag == "!!merge" {
			sources := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				sources = v.Content
			}
			for _, s := range sources {
				if s = resolve(s); s.Kind != yaml.MappingNode {
					d.problem(k, "", "<< merges a mapping, got "+kindName(s))
					continue
				}
				merged = append(merged, d.pairs(s, where)...)
			}
			continue
		}
		if line, dup := first[k.Value]; dup {
			d.problem(k, "", fmt.Sprintf("field %q given twice %s (first at line %d)", k.Value, where, line))
			continue
		}
		first[k.Value] = k.Line
		out = append(out, keyValue{k, v})
	}
	for _, kv := range merged {
		if _, ok := first[kv.key.Value]; !ok {
			first[kv.key.Value] = kv.key.Line
			out = append(out, kv)
		}
	}
	return out
}

// unknown reports an unknown key, suggesting the nearest known one.
func (d *decoder) unknown(k *yaml.Node, where string, known []string) {
	msg := fmt.Sprintf("unknown field %q %s", k.Value, where)
	if s := suggest(k.Value, known); s != "" {
		msg += " (did you mean " + s + "?)"
	}
	d.problem(k, "", msg)
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// kindName names a node's kind for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

func itoa(i int) string { return strconv.Itoa(i) }
