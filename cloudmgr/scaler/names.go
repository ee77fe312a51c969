package scaler

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// maxNameLen is the longest instance name: a DNS label, which every cloud accepts.
const maxNameLen = 63

// namer hands out the deterministic names of one pool's new instances:
// <installation>-<pool>-<n> with the lowest n no existing instance (or
// registered agent) of the pool uses. A cloudmgr killed mid-scale-up and
// restarted asks for the same names again, and the provider adopts them.
type namer struct {
	base string
	used map[string]bool
	next int
}

// newNamer returns a namer for the pool, avoiding the names in used.
func newNamer(installation, pool string, used map[string]bool) *namer {
	return &namer{base: nameBase(installation, pool), used: used, next: 1}
}

// name returns the next free name and marks it used.
func (n *namer) name() string {
	for {
		s := n.base + "-" + strconv.Itoa(n.next)
		n.next++
		if !n.used[s] {
			n.used[s] = true
			return s
		}
	}
}

// nameBase is "<installation>-<pool>" sanitised to [a-z0-9-]. When too long to
// leave room for "-<n>" within 63 characters, it is cut and a hash of the
// whole is appended, so two long pool names stay apart.
func nameBase(installation, pool string) string {
	full := sanitize(installation + "-" + pool)
	const room = 8 // "-" and up to 7 digits
	if len(full) <= maxNameLen-room {
		return full
	}
	h := fnv.New32a()
	h.Write([]byte(installation + "/" + pool))
	sum := fmt.Sprintf("%08x", h.Sum32())
	cut := strings.TrimRight(full[:maxNameLen-room-len(sum)-1], "-")
	return cut + "-" + sum
}

// sanitize lowercases s and replaces every character outside [a-z0-9-] with
// '-', collapsing runs and trimming dashes at both ends.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		ok := (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
		if !ok {
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		b.WriteRune(r)
		dash = false
	}
	out := strings.TrimRight(b.String(), "-")
	if out == "" {
		return "agent"
	}
	return out
}
