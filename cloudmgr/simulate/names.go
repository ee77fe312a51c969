package simulate

import (
	"strconv"
	"strings"
)

// newNames returns n names for new machines as cloudmgr gives them:
// <installation>-<pool>-<k> with the lowest k no live machine of the pool uses.
func (p *pool) newNames(n int) []string {
	used := make(map[string]bool, len(p.machines))
	for _, m := range p.machines {
		used[m.name] = true
	}
	out := make([]string, 0, n)
	for k := 1; len(out) < n; k++ {
		if name := p.nameBase + "-" + itoa(k); !used[name] {
			out = append(out, name)
		}
	}
	return out
}

// sanitize lowercases s and turns every run of characters outside
// [a-z0-9] into one '-', as cloudmgr names instances.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = true
	}
	out := strings.TrimRight(b.String(), "-")
	if out == "" {
		return "agent"
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
