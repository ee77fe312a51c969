package amqstats

import (
	"fmt"
	"regexp"
	"strings"
)

// PoolPlaceholder marks the pool in a queue name template.
const PoolPlaceholder = "{pool}"

// queuePrefix starts every STOMP queue destination.
const queuePrefix = "/queue/"

// Template maps pool names to queue names and back.
type Template struct {
	raw      string
	prefix   string         // physical name before {pool}
	suffix   string         // physical name after {pool}
	wildcard string         // ActiveMQ wildcard matching every pool's queue
	match    *regexp.Regexp // physical queue name → pool
}

// ParseTemplate reads a template such as /queue/jobs.{pool}: a STOMP queue
// destination holding {pool} once. Pool names never contain dots, so the
// dot-separated segment holding {pool} becomes ActiveMQ's one-segment
// wildcard "*" in the statistics query, and the exact names are filtered
// afterwards.
func ParseTemplate(raw string) (Template, error) {
	if !strings.HasPrefix(raw, queuePrefix) {
		return Template{}, fmt.Errorf("queue template %q: want a queue destination starting with %s", raw, queuePrefix)
	}
	name := strings.TrimPrefix(raw, queuePrefix)
	if strings.Count(name, PoolPlaceholder) != 1 {
		return Template{}, fmt.Errorf("queue template %q: want %s exactly once", raw, PoolPlaceholder)
	}
	if strings.ContainsAny(name, "*>/ ") {
		return Template{}, fmt.Errorf("queue template %q: no wildcards, slashes or spaces after %s", raw, queuePrefix)
	}
	prefix, suffix, _ := strings.Cut(name, PoolPlaceholder)
	segs := strings.Split(name, ".")
	for i, s := range segs {
		if strings.Contains(s, PoolPlaceholder) {
			segs[i] = "*"
		}
	}
	return Template{
		raw:      raw,
		prefix:   prefix,
		suffix:   suffix,
		wildcard: strings.Join(segs, "."),
		match:    regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + `([^.]+)` + regexp.QuoteMeta(suffix) + "$"),
	}, nil
}

// String is the template as written.
func (t Template) String() string { return t.raw }

// Queue is the STOMP destination of pool's queue.
func (t Template) Queue(pool string) string { return queuePrefix + t.prefix + pool + t.suffix }

// Pool returns the pool of a physical queue name (as ActiveMQ's statistics
// name it, with or without "queue://"), and whether it is one of ours.
func (t Template) Pool(physical string) (string, bool) {
	m := t.match.FindStringSubmatch(strings.TrimPrefix(physical, "queue://"))
	if m == nil {
		return "", false
	}
	return m[1], true
}
