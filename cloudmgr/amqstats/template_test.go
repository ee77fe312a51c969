package amqstats

import (
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		raw, wildcard, queue string // queue of pool "linux"
		pools                map[string]string
	}{
		{"/queue/jobs.{pool}", "jobs.*", "/queue/jobs.linux",
			map[string]string{"queue://jobs.linux": "linux", "jobs.win": "win", "jobs.a.b": "", "jobs.": "", "other.linux": ""}},
		{"/queue/{pool}", "*", "/queue/linux",
			map[string]string{"queue://linux": "linux", "a.b": ""}},
		{"/queue/ci.{pool}.pending", "ci.*.pending", "/queue/ci.linux.pending",
			map[string]string{"ci.linux.pending": "linux", "ci.linux.done": "", "ci.linux": ""}},
		{"/queue/jobs-{pool}-q", "*", "/queue/jobs-linux-q",
			map[string]string{"jobs-linux-q": "linux", "jobs-linux": "", "x.jobs-linux-q": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			tm, err := ParseTemplate(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if tm.wildcard != tt.wildcard {
				t.Errorf("wildcard = %q, want %q", tm.wildcard, tt.wildcard)
			}
			if got := tm.Queue("linux"); got != tt.queue {
				t.Errorf("Queue(linux) = %q, want %q", got, tt.queue)
			}
			for name, want := range tt.pools {
				got, ok := tm.Pool(name)
				if ok != (want != "") || got != want {
					t.Errorf("Pool(%q) = %q, %v; want %q", name, got, ok, want)
				}
			}
		})
	}
}

func TestParseTemplateRejects(t *testing.T) {
	for raw, want := range map[string]string{
		"jobs.{pool}":              "starting with /queue/",
		"/topic/jobs.{pool}":       "starting with /queue/",
		"/queue/jobs":              "{pool} exactly once",
		"/queue/{pool}.{pool}":     "{pool} exactly once",
		"/queue/jobs.>.{pool}":     "no wildcards",
		"/queue/jobs/{pool}":       "no wildcards",
		"/queue/jobs.{pool} extra": "no wildcards",
	} {
		_, err := ParseTemplate(raw)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), raw) {
			t.Errorf("ParseTemplate(%q) = %v, want an error naming it and saying %q", raw, err, want)
		}
	}
}
