package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/master/api"
)

// minTrials is the least number of trials a submit-to-start benchmark times.
const minTrials = 20

// BenchmarkDockerSubmitToStart times, end to end through the real master,
// cloudmgr and agents in containers, a composition from its submit to its
// start (the agent accepted it: the master's StartedAt − SubmittedAt, both
// on the master's clock), when the pool has no agent:
//
//   - create: the pool has no container either (suspend: none, so every idle
//     agent is drained and destroyed): cloudmgr creates one, its agent boots
//     and registers, the master dispatches.
//   - resume: the pool's one container is stopped (suspend: stop): cloudmgr
//     starts it again, its agent boots and registers, the master dispatches.
//
// Each reports the median over at least minTrials trials as
// <kind>-submit-to-start-p50-ms (and as ns/op). Run it with
//
//	go test -run '^$' -bench DockerSubmitToStart -benchtime 1x ./cloudmgr/e2e/
func BenchmarkDockerSubmitToStart(b *testing.B) {
	g := newDockerEngine(b)
	// Quick heartbeats: a destroyed agent (its container removed with
	// SIGKILL, no goodbye) leaves the master's pool soon.
	masterEnv := []string{"AGENTCLOUD_HEARTBEAT_TIMEOUT=3s"}
	b.Run("create", func(b *testing.B) {
		e := newDockerEnv(b, g, "bcreate", dockerPolicy{max: 1, idle: "500ms", ttl: "10m", boot: "60s",
			suspend: "none", cooldownUp: "0s", cooldownDn: "0s"}, masterEnv...)
		cm := e.startCloudmgr("cloudmgr.log")
		var took []time.Duration
		for range max(b.N, minTrials) {
			// No container, and cloudmgr counts none.
			eventually(b, "no container left", func() bool {
				return len(g.mustContainers(b, e.owner)) == 0 && e.instances(b, cm, allStates()...) == 0
			})
			took = append(took, e.submitToStart(b))
		}
		if n := cm.actions(b, "create", ""); n != len(took) {
			b.Errorf("%d creates for %d trials", n, len(took))
		}
		reportP50(b, "create", took)
	})
	b.Run("resume", func(b *testing.B) {
		e := newDockerEnv(b, g, "bresume", dockerPolicy{max: 1, idle: "500ms", ttl: "10m", boot: "60s",
			suspend: "stop", cooldownUp: "0s", cooldownDn: "0s"}, masterEnv...)
		cm := e.startCloudmgr("cloudmgr.log")
		stopped := func() bool {
			cs := g.mustContainers(b, e.owner)
			agents, err := e.agents()
			return err == nil && len(agents) == 0 && len(cs) == 1 && cs[0].state == "exited" &&
				e.instances(b, cm, "suspended") == 1 && e.instances(b, cm, allStates()...) == 1
		}
		e.submitToStart(b) // untimed: creates the container the trials resume
		var took []time.Duration
		for range max(b.N, minTrials) {
			eventually(b, "the container stopped, its agent gone", stopped)
			took = append(took, e.submitToStart(b))
		}
		if n := cm.actions(b, "create", ""); n != 1 {
			b.Errorf("%d creates; want the first only", n)
		}
		if n := cm.actions(b, "resume", ""); n != len(took) {
			b.Errorf("%d resumes for %d trials", n, len(took))
		}
		reportP50(b, "resume", took)
	})
}

// allStates are the instance states cloudmgr's metrics count.
func allStates() []string {
	return []string{"pending", "running", "suspending", "suspended", "resuming", "destroying"}
}

// submitToStart submits a composition, waits until it succeeded, and returns
// how long it was queued: from submit to the agent accepting it.
func (e *dockerEnv) submitToStart(b *testing.B) time.Duration {
	b.Helper()
	id := e.submit("true")
	c := e.waitDone(id)[id]
	if c.State != api.CompSucceeded || c.StartedAt.IsZero() {
		b.Fatalf("composition %s: %s, started %v", id, c.State, c.StartedAt)
	}
	return c.StartedAt.Sub(c.SubmittedAt)
}

// reportP50 reports the median of the trials, and logs their spread.
func reportP50(b *testing.B, kind string, took []time.Duration) {
	b.Helper()
	s := slices.Clone(took)
	slices.Sort(s)
	p50, p90 := s[len(s)/2], s[len(s)*9/10]
	b.ReportMetric(float64(p50.Nanoseconds()), "ns/op")
	b.ReportMetric(float64(p50.Microseconds())/1000, kind+"-submit-to-start-p50-ms")
	b.Logf("%s: %d trials, submit to start: p50 %s, p90 %s, min %s, max %s", kind, len(s), p50, p90, s[0], s[len(s)-1])
}
