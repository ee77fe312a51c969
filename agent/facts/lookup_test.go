package facts

import (
	"reflect"
	"testing"
)

func TestLookup(t *testing.T) {
	f := map[string]any{
		"os":         map[string]any{"release": map[string]any{"full": "12.5"}},
		"processors": map[string]any{"models": []any{"a", "b"}},
		"kernel":     "Linux",
	}
	tests := []struct {
		name string
		want any
		ok   bool
	}{
		{"os.release.full", "12.5", true},
		{"kernel", "Linux", true},
		{"processors.models.1", "b", true},
		{"processors.models.2", nil, false},
		{"processors.models.x", nil, false},
		{"os.release.full.more", nil, false},
		{"os.missing", nil, false},
		{"os", f["os"], true},
	}
	for _, tt := range tests {
		got, ok := Lookup(f, tt.name)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFlattenAndNames(t *testing.T) {
	f := map[string]any{
		"os":    map[string]any{"name": "Debian", "release": map[string]any{"full": "12.5"}},
		"list":  []any{1, 2},
		"empty": map[string]any{},
		"n":     3,
	}
	want := map[string]any{"os.name": "Debian", "os.release.full": "12.5", "list": []any{1, 2}, "empty": map[string]any{}, "n": 3}
	if got := Flatten(f); !reflect.DeepEqual(got, want) {
		t.Errorf("Flatten = %v, want %v", got, want)
	}
	if got, want := Names(f), []string{"empty", "list", "n", "os.name", "os.release.full"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
}
