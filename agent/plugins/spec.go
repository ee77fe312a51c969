package plugins

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// FieldType is the type of a task field.
type FieldType string

// Field types.
const (
	TypeString   FieldType = "string"
	TypeInt      FieldType = "int"
	TypeBool     FieldType = "bool"
	TypeList     FieldType = "list"
	TypeMap      FieldType = "map"
	TypeDuration FieldType = "duration" // a Go duration string: "90s", "5m"
)

// Valid reports whether t is a known type.
func (t FieldType) Valid() bool {
	switch t {
	case TypeString, TypeInt, TypeBool, TypeList, TypeMap, TypeDuration:
		return true
	}
	return false
}

// FieldSpec declares one field of a task.
type FieldSpec struct {
	Name        string    `yaml:"name" json:"name"`
	Type        FieldType `yaml:"type" json:"type"`
	Required    bool      `yaml:"required" json:"required,omitempty"`
	Default     any       `yaml:"default" json:"default,omitempty"`
	Description string    `yaml:"description" json:"description,omitempty"`
}

// TaskSpec declares a task and its fields.
type TaskSpec struct {
	Name        string      `yaml:"name" json:"name"`
	Description string      `yaml:"description" json:"description,omitempty"`
	Fields      []FieldSpec `yaml:"fields" json:"fields"`
}

// PrepareFields merges and checks a task's fields. For each field the task
// declares, the value is, first found: the task's own field; the composition
// context value of the same name; the field's default. Context keys that are
// not declared fields are not fields (plugins see the whole context apart).
// It fails, naming the field, on a field the task does not declare, a
// required field with no value, or a value of the wrong type. A null own
// field counts as not given. Values come back normalized: ints as int64,
// lists as []any, maps as map[string]any, durations as their string.
func PrepareFields(spec TaskSpec, own, context map[string]any) (map[string]any, error) {
	declared := map[string]FieldSpec{}
	for _, f := range spec.Fields {
		declared[f.Name] = f
	}
	names := make([]string, 0, len(own))
	for k := range own {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, ok := declared[k]; !ok {
			return nil, fmt.Errorf("field %q: unknown field of %s (known: %s)", k, spec.Name, fieldNames(spec))
		}
	}
	out := map[string]any{}
	for _, f := range spec.Fields {
		v, from := own[f.Name], "task"
		if v == nil {
			v, from = context[f.Name], "context"
		}
		if v == nil {
			v, from = f.Default, "default"
		}
		if v == nil {
			if f.Required {
				return nil, fmt.Errorf("field %q: required by %s, not given", f.Name, spec.Name)
			}
			continue
		}
		nv, err := CheckType(f.Type, v)
		if err != nil {
			if from != "task" {
				return nil, fmt.Errorf("field %q (from %s): %w", f.Name, from, err)
			}
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		out[f.Name] = nv
	}
	return out, nil
}

func fieldNames(spec TaskSpec) string {
	if len(spec.Fields) == 0 {
		return "none"
	}
	n := make([]string, len(spec.Fields))
	for i, f := range spec.Fields {
		n[i] = f.Name
	}
	return strings.Join(n, ", ")
}

// CheckType checks that v (as decoded from JSON or YAML) is of type t and
// returns it normalized.
func CheckType(t FieldType, v any) (any, error) {
	switch t {
	case TypeString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case TypeBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case TypeInt:
		switch n := v.(type) {
		case int:
			return int64(n), nil
		case int64:
			return n, nil
		case float64:
			if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
				return int64(n), nil
			}
		}
	case TypeList:
		switch l := v.(type) {
		case []any:
			return l, nil
		case []string:
			out := make([]any, len(l))
			for i, s := range l {
				out[i] = s
			}
			return out, nil
		}
	case TypeMap:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	case TypeDuration:
		if s, ok := v.(string); ok {
			if _, err := time.ParseDuration(s); err != nil {
				return nil, fmt.Errorf("want a duration like \"90s\" or \"5m\", got %q", s)
			}
			return s, nil
		}
	default:
		return nil, fmt.Errorf("unknown type %q", t)
	}
	return nil, fmt.Errorf("want %s, got %s", t, describe(v))
}

// describe names a value's type for errors.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("bool %v", x)
	case float64:
		return fmt.Sprintf("number %v", x)
	case int, int64:
		return fmt.Sprintf("number %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
