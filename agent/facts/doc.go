// Package facts gathers the facts an agent registers with: Facter 4 core fact
// names and value types (os, processors, memory, kernel, networking, virtual,
// identity, timezone, path, system_uptime ...), external facts from a facts.d
// folder in Facter's formats, cloud facts (gce, ec2_metadata) when the agent
// runs on those clouds, and agentcloud's own facts.
//
// Facts are a nested map, as `facter --json` prints them: numbers are numbers,
// booleans are booleans, everything else is a string, map or list. Core facts
// are read as cheaply as possible: files under /etc, /proc and /sys, the uname
// system call and the net package; nothing is forked.
//
// Precedence, lowest first: core facts, cloud facts, external facts (an
// external fact of the same top-level name replaces a core one, as in Facter),
// then the agentcloud facts, which nothing overrides.
package facts
