package plugins

import (
	"reflect"
	"strings"
	"testing"
)

var testSpec = TaskSpec{Name: "demo.task", Fields: []FieldSpec{
	{Name: "name", Type: TypeString, Required: true},
	{Name: "count", Type: TypeInt, Default: int64(1)},
	{Name: "fast", Type: TypeBool},
	{Name: "items", Type: TypeList},
	{Name: "opts", Type: TypeMap},
	{Name: "wait", Type: TypeDuration, Default: "5s"},
}}

func TestPrepareFields(t *testing.T) {
	tests := []struct {
		name    string
		own     map[string]any
		context map[string]any
		want    map[string]any
		err     string
	}{
		{
			name: "own fields, defaults applied, ints normalized",
			own:  map[string]any{"name": "x", "count": float64(3), "fast": true, "items": []any{"a"}, "opts": map[string]any{"k": 1}},
			want: map[string]any{"name": "x", "count": int64(3), "fast": true, "items": []any{"a"}, "opts": map[string]any{"k": 1}, "wait": "5s"},
		},
		{
			name:    "context fills declared fields the task leaves out; own wins; other keys ignored",
			own:     map[string]any{"count": float64(2)},
			context: map[string]any{"name": "from-ctx", "count": float64(9), "unrelated": "x", "wait": "1m"},
			want:    map[string]any{"name": "from-ctx", "count": int64(2), "wait": "1m"},
		},
		{
			name: "null own field counts as not given",
			own:  map[string]any{"name": "x", "count": nil},
			want: map[string]any{"name": "x", "count": int64(1), "wait": "5s"},
		},
		{name: "unknown field", own: map[string]any{"name": "x", "colour": "red"}, err: `field "colour": unknown field of demo.task (known: name, count, fast, items, opts, wait)`},
		{name: "missing required", own: map[string]any{}, err: `field "name": required by demo.task, not given`},
		{name: "string wanted", own: map[string]any{"name": 5.0}, err: `field "name": want string, got number 5`},
		{name: "int wanted", own: map[string]any{"name": "x", "count": "two"}, err: `field "count": want int, got string "two"`},
		{name: "int not whole", own: map[string]any{"name": "x", "count": 1.5}, err: `field "count": want int, got number 1.5`},
		{name: "bool wanted", own: map[string]any{"name": "x", "fast": "yes"}, err: `field "fast": want bool, got string "yes"`},
		{name: "list wanted", own: map[string]any{"name": "x", "items": "a,b"}, err: `field "items": want list`},
		{name: "map wanted", own: map[string]any{"name": "x", "opts": []any{}}, err: `field "opts": want map, got a list`},
		{name: "duration wanted", own: map[string]any{"name": "x", "wait": "soon"}, err: `field "wait": want a duration`},
		{name: "duration not a number", own: map[string]any{"name": "x", "wait": 5.0}, err: `field "wait": want duration, got number 5`},
		{name: "bad context value is named", own: map[string]any{"name": "x"}, context: map[string]any{"count": "lots"}, err: `field "count" (from context): want int`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PrepareFields(testSpec, tt.own, tt.context)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fields = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseContextLine(t *testing.T) {
	tests := []struct {
		line string
		want map[string]any
		err  bool
	}{
		{"::context a=b=c", map[string]any{"a": "b=c"}, false},
		{"::context  spaced.key-1=", map[string]any{"spaced.key-1": ""}, false},
		{`::context {"x": 1.5, "y": null}`, map[string]any{"x": 1.5, "y": nil}, false},
		{"::context =v", nil, true},
		{"::context has space=v", nil, true},
		{"::context {broken", nil, true},
		{`::context ["list"]`, nil, true},
	}
	for _, tt := range tests {
		got, err := ParseContextLine(tt.line)
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseContextLine(%q) = %v, %v; want %v, error %v", tt.line, got, err, tt.want, tt.err)
		}
	}
}
