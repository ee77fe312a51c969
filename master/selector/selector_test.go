package selector

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func facts(t *testing.T) map[string]any {
	t.Helper()
	var f map[string]any
	err := json.Unmarshal([]byte(`{
		"os": {"family": "Debian", "architecture": "amd64", "release": {"major": "12", "full": "12.5"}},
		"processors": {"count": 8},
		"memory": {"system": {"total_bytes": 16000000000}},
		"virtual": "docker",
		"is_virtual": true,
		"gpu": false,
		"empty": "",
		"flat.dotted": "yes",
		"tags": ["a", "b"],
		"label": "a,b"
	}`), &f)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMatches(t *testing.T) {
	f := facts(t)
	cases := []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"   ", true},
		{"os.family=Debian", true},
		{"os.family=debian", false},
		{" os.family = Debian ", true},
		{"os.family!=Debian", false},
		{"os.family!=RedHat", true},
		{"missing!=x", true},
		{"missing=x", false},
		{"os.release.major=12", true},
		{"processors.count=8", true},
		{"processors.count>=8", true},
		{"processors.count>=9", false},
		{"processors.count<=8", true},
		{"processors.count>7", true},
		{"processors.count>8", false},
		{"processors.count<9", true},
		{"processors.count<8", false},
		{"os.release.full>12.4", true}, // numeric string
		{"os.family>1", false},         // not a number
		{"missing>1", false},
		{"memory.system.total_bytes>8e9", true},
		{"is_virtual=true", true},
		{"gpu exists", true}, // false is present
		{"empty exists", true},
		{"gpu !exists", false},
		{"missing exists", false},
		{"missing !exists", true},
		{"missing!exists", true},
		{"os exists", true},
		{"os.family.deeper exists", false},
		{"flat.dotted=yes", true},
		{"os.architecture~=^(amd64|x86_64)$", true},
		{"os.architecture~=^arm", false},
		{"virtual~=dock", true},
		{"missing~=.*", false},
		{`tags=["a"\,"b"]`, true},
		{`label=a\,b`, true},
		{"os.family=Debian,processors.count>=4", true},
		{"os.family=Debian,processors.count>=16", false},
		{"os.family=Debian, virtual=docker, gpu exists", true},
	}
	for _, c := range cases {
		s, err := Parse(c.sel)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.sel, err)
			continue
		}
		if got := s.Matches(f); got != c.want {
			t.Errorf("Parse(%q).Matches = %v, want %v", c.sel, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		sel    string
		pos    int
		clause string
		reason string
	}{
		{"os.family", 10, "os.family", "missing operator"},
		{"=Debian", 1, "=Debian", "expected a fact name"},
		{"os.family=Debian,,a=b", 18, "", "empty clause"},
		{"os.family=Debian,", 18, "", "empty clause"},
		{"a=1, cpu>>4", 10, "cpu>>4", `">4" after > is not a number`},
		{"cpu>=", 6, "cpu>=", "missing number"},
		{"cpu>=four", 6, "cpu>=four", "not a number"},
		{"arch~=(", 7, "arch~=(", "bad regexp"},
		{"arch~=", 7, "arch~=", "empty regexp"},
		{"os.family==Debian", 11, "os.family==Debian", "not os.family==value"},
		{"a.b.=1", 1, "a.b.=1", "empty dotted part"},
		{"a..b=1", 1, "a..b=1", "empty dotted part"},
		{"cpu is 4", 5, "cpu is 4", "unknown operator"},
		{"gpu existing", 5, "gpu existing", "unknown operator"},
	}
	for _, c := range cases {
		_, err := Parse(c.sel)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) error = %v, want a *ParseError", c.sel, err)
			continue
		}
		if pe.Pos != c.pos || pe.Clause != c.clause || !strings.Contains(pe.Reason, c.reason) {
			t.Errorf("Parse(%q) = pos %d clause %q reason %q; want pos %d clause %q reason containing %q",
				c.sel, pe.Pos, pe.Clause, pe.Reason, c.pos, c.clause, c.reason)
		}
		if !strings.Contains(err.Error(), "position") {
			t.Errorf("Parse(%q) message %q does not name the position", c.sel, err)
		}
	}
}

func TestNilSelectorMatchesAll(t *testing.T) {
	var s *Selector
	if !s.Matches(nil) || s.String() != "" || s.Clauses() != nil {
		t.Fatal("nil selector should match everything and print empty")
	}
}

func TestStringKeepsSource(t *testing.T) {
	src := "os.family=Debian, processors.count>=4"
	s, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != src || len(s.Clauses()) != 2 || s.Clauses()[1].Num != 4 {
		t.Fatalf("got %q %+v", s.String(), s.Clauses())
	}
}
