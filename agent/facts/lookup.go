package facts

import (
	"sort"
	"strconv"
	"strings"
)

// Lookup finds a fact by its dotted name ("os.release.full"); a list element
// is named by its index ("processors.models.0"). ok is false when any part of
// the path is missing.
func Lookup(facts map[string]any, name string) (any, bool) {
	var cur any = facts
	for _, part := range strings.Split(name, ".") {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[part]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			cur = x[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// Flatten lists every leaf fact by dotted name ("os.release.full" => "12.5").
// Lists are leaves (kept whole); an empty map is a leaf too.
func Flatten(facts map[string]any) map[string]any {
	out := map[string]any{}
	flatten("", facts, out)
	return out
}

func flatten(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			flatten(name, sub, out)
			continue
		}
		out[name] = v
	}
}

// Names lists the dotted names of Flatten in order.
func Names(facts map[string]any) []string {
	flat := Flatten(facts)
	names := make([]string, 0, len(flat))
	for n := range flat {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
