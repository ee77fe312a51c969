package facts

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// parseYAMLFacts reads a YAML mapping with YAML 1.1 booleans (yes/no/on/off,
// as Ruby's Psych reads them in Facter) and timestamps kept as strings.
func parseYAMLFacts(b []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing YAML: %w", err)
	}
	if doc.Kind == 0 {
		return map[string]any{}, nil
	}
	v, err := yamlValue(&doc, 0)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parsing YAML: top level is not a mapping (line %d)", doc.Line)
	}
	return m, nil
}

// yaml11Bools are the plain scalars YAML 1.1 reads as booleans and YAML 1.2
// (yaml.v3) as strings.
var yaml11Bools = map[string]bool{
	"yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

// yamlValue converts a node to plain Go values (map[string]any, []any, scalars).
func yamlValue(n *yaml.Node, depth int) (any, error) {
	if depth > 100 {
		return nil, fmt.Errorf("parsing YAML: nested too deep at line %d", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlValue(n.Content[0], depth+1)
	case yaml.AliasNode:
		return yamlValue(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			v, err := yamlValue(vn, depth+1)
			if err != nil {
				return nil, err
			}
			if k.Tag == "!!merge" {
				merge(out, v)
				continue
			}
			out[k.Value] = v
		}
		return out, nil
	case yaml.ScalarNode:
		if n.Style == 0 && n.Tag == "!!str" {
			if b, ok := yaml11Bools[n.Value]; ok {
				return b, nil
			}
		}
		if n.Tag == "!!timestamp" {
			return n.Value, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("parsing YAML: line %d: %w", n.Line, err)
		}
		if i, ok := v.(int); ok {
			return int64(i), nil
		}
		return v, nil
	}
	return nil, fmt.Errorf("parsing YAML: unexpected node at line %d", n.Line)
}

// merge applies a YAML merge key ("<<: *anchor") to out; keys already set win.
func merge(out map[string]any, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if _, ok := out[k]; !ok {
				out[k] = e
			}
		}
	case []any:
		for _, e := range x {
			merge(out, e)
		}
	}
}
