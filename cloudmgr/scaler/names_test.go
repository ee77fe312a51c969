package scaler

import (
	"strings"
	"testing"
)

func TestNameBase(t *testing.T) {
	long := strings.Repeat("very-long-pool-name-", 5)
	cases := []struct {
		inst, pool, want string
	}{
		{"demo", "linux", "demo-linux"},
		{"Demo", "Linux_X86.64", "demo-linux-x86-64"},
		{"demo", "gpu  / cuda--12", "demo-gpu-cuda-12"},
		{"demo", "-edge-", "demo-edge"},
		{"", "", "agent"},
	}
	for _, c := range cases {
		if got := nameBase(c.inst, c.pool); got != c.want {
			t.Errorf("nameBase(%q, %q) = %q, want %q", c.inst, c.pool, got, c.want)
		}
	}
	a, b := nameBase("demo", long+"a"), nameBase("demo", long+"b")
	if a == b {
		t.Errorf("two long pools share the base %q", a)
	}
	for _, base := range []string{a, b} {
		if n := len(base + "-9999999"); n > maxNameLen {
			t.Errorf("%q leaves no room for a number: %d characters", base, n)
		}
		if strings.Trim(base, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			t.Errorf("%q has characters outside [a-z0-9-]", base)
		}
	}
	if nameBase("demo", long+"a") != a {
		t.Error("nameBase is not deterministic")
	}
}

func TestNamerLowestFree(t *testing.T) {
	n := newNamer("demo", "linux", map[string]bool{"demo-linux-1": true, "demo-linux-3": true, "other-5": true})
	var got []string
	for range 3 {
		got = append(got, n.name())
	}
	if strings.Join(got, ",") != "demo-linux-2,demo-linux-4,demo-linux-5" {
		t.Errorf("names = %v", got)
	}
}
