// Package e2e holds cloudmgr's end-to-end tests: they build the real
// cloudmgr, master and agent binaries and run the whole loop as processes on
// this machine (master with its embedded broker, cloudmgr with the local
// provider, agents as local processes), asserting what a person watching
// `make run` would check: scale from zero, drain and suspend with the work
// dir kept, resume before create, destroy after suspended_ttl, never more
// than max, nothing left after teardown, and adoption after a SIGKILL.
//
// TestDockerWholeCycle runs the same cycle with the docker provider: agents
// in containers of the images/agent image (built with a busybox shell), on
// the host network so they reach the broker on 127.0.0.1; see docs/docker.md
// §7. BenchmarkDockerSubmitToStart times submit to start for a cold create
// against a resume.
//
// The package has no code of its own. The local-provider tests need only Go
// and local processes, so they never skip; the docker ones skip without a
// Docker engine, the docker command or /bin/busybox (busybox-static), and
// fail instead under AGENTCLOUD_REQUIRE_COMPONENTS=1.
package e2e
