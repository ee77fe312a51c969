package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/agentcloud/agentcloud/agent/facts"
)

// coreNames are the Facter core facts the agent provides. For each one
// Facter reports, the agent must report it too, with the same JSON type.
var coreNames = []string{
	"os.name", "os.family", "os.release.full", "os.release.major", "os.release.minor",
	"os.architecture", "os.hardware", "os.distro.codename", "os.distro.description", "os.distro.id",
	"os.distro.release.full", "os.selinux.enabled",
	"processors.count", "processors.models", "processors.physicalcount", "processors.cores",
	"processors.threads", "processors.speed",
	"memory.system.total_bytes", "memory.system.available_bytes", "memory.system.used_bytes",
	"memory.system.total", "memory.system.available", "memory.system.used", "memory.system.capacity",
	"kernel", "kernelrelease", "kernelversion", "kernelmajversion",
	"networking.hostname", "networking.domain", "networking.fqdn", "networking.ip", "networking.ip6",
	"networking.mac", "networking.mtu", "networking.netmask", "networking.network", "networking.primary",
	"virtual", "is_virtual", "timezone", "path", "system_uptime.seconds",
	"identity.user", "identity.uid", "identity.gid", "identity.group", "identity.privileged",
}

// stableNames must also have equal values.
var stableNames = []string{
	"os.name", "os.family", "os.release.full", "os.release.major", "os.release.minor", "os.architecture",
	"os.hardware", "os.distro.codename", "os.distro.id",
	"processors.count", "processors.models", "processors.physicalcount",
	"kernel", "kernelrelease", "kernelversion", "kernelmajversion",
	"networking.hostname", "networking.domain", "networking.fqdn", "networking.ip", "networking.primary",
	"virtual", "is_virtual", "timezone", "path", "identity.user", "identity.uid",
}

// externalNames are the facts the facts.d fixture defines.
var externalNames = []string{
	"txt_role", "txt_spaced ", "shared", "json_nested", "json_num", "json_list", "json_bool",
	"yaml_map", "yaml_int", "yaml_bool_yes", "yaml_bool_off", "yaml_str", "yaml_date", "yaml_float",
	"exe_plain", "exe_second", "exe_yaml", "upper_case", "upper_json",
}

func writeFactsD(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := []struct {
		name, content string
		mode          os.FileMode
	}{
		{"10-base.txt", "txt_role=builder\ntxt_spaced = a b \nshared=from-txt\nUPPER_CASE=X\nnot a fact\n", 0o644},
		{"20-data.json", `{"json_nested": {"a": {"b": "c"}}, "json_num": 42, "json_list": [1, "two", true], "json_bool": false, "shared": "from-json", "Upper_Json": 1}`, 0o644},
		{"30-data.yaml", "yaml_map:\n  k: v\n  n: 3\nyaml_int: 7\nyaml_bool_yes: yes\nyaml_bool_off: off\nyaml_str: \"on\"\nyaml_date: 2024-01-02\nyaml_float: 2.5\n", 0o644},
		{"40-script", "#!/bin/sh\necho exe_plain=1\necho exe_second=two words\n", 0o755},
		{"50-yaml-script", "#!/bin/sh\necho 'exe_yaml: [1, 2]'\n", 0o755},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.content), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestFactsMatchFacter compares `agent facts` with the real `facter --json`:
// the core fact names and types, the values of the stable ones, and the
// external facts of a facts.d folder in every format.
func TestFactsMatchFacter(t *testing.T) {
	facterPath, err := exec.LookPath("facter")
	requireComponent(t, "facter (Debian package facter)", err)
	dir := writeFactsD(t)

	theirs := runJSON(t, facterPath, "--json", "--external-dir", dir)
	ours := runJSON(t, agentBin, "facts", "-facts-dir", dir, "-cloud-facts=false")

	compared := 0
	for _, name := range coreNames {
		fv, inFacter := facts.Lookup(theirs, name)
		if !inFacter {
			continue
		}
		compared++
		ov, inOurs := facts.Lookup(ours, name)
		if !inOurs {
			t.Errorf("%s: facter has %v, the agent has no such fact", name, fv)
			continue
		}
		if jsonKind(fv) != jsonKind(ov) {
			t.Errorf("%s: facter gives a %s (%v), the agent a %s (%v)", name, jsonKind(fv), fv, jsonKind(ov), ov)
		}
	}
	if compared < 20 {
		t.Errorf("only %d core facts to compare; facter output looks wrong: %v", compared, keys(theirs))
	}
	for _, name := range stableNames {
		fv, inFacter := facts.Lookup(theirs, name)
		ov, _ := facts.Lookup(ours, name)
		if inFacter && !reflect.DeepEqual(fv, ov) {
			t.Errorf("%s: facter %#v, agent %#v", name, fv, ov)
		}
	}
	ft, _ := facts.Lookup(theirs, "memory.system.total_bytes")
	ot, _ := facts.Lookup(ours, "memory.system.total_bytes")
	if f, o := toFloat(ft), toFloat(ot); f == 0 || math.Abs(f-o)/f > 0.01 {
		t.Errorf("memory.system.total_bytes: facter %v, agent %v (want within 1%%)", ft, ot)
	}

	for _, name := range externalNames {
		fv, inFacter := theirs[lower(name)]
		ov, inOurs := ours[lower(name)]
		if !inFacter {
			t.Errorf("external fact %q: facter does not have it (fixture problem?)", name)
			continue
		}
		if !inOurs {
			t.Errorf("external fact %q: facter has %#v, the agent has no such fact", name, fv)
			continue
		}
		if !reflect.DeepEqual(fv, ov) {
			t.Errorf("external fact %q: facter %#v, agent %#v", name, fv, ov)
		}
	}
	for _, uncased := range []string{"UPPER_CASE", "Upper_Json"} {
		if _, ok := ours[uncased]; ok {
			t.Errorf("external fact %q kept its case; facter lower-cases it", uncased)
		}
	}
}

func runJSON(t *testing.T, name string, args ...string) map[string]any {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var m map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil {
		t.Fatalf("%s %v: %v; output is not JSON: %v\n%s\n%s", name, args, runErr, err, stdout.String(), stderr.String())
	}
	if runErr != nil {
		// facter exits 1 when it logged an error resolving some fact (in a
		// container: /proc/1/environ unreadable) yet prints the others.
		t.Logf("%s exited with %v but printed facts; its stderr:\n%s", name, runErr, stderr.String())
	}
	return m
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "list"
	case map[string]any:
		return "map"
	case nil:
		return "null"
	}
	return "unknown"
}

func toFloat(v any) float64 {
	f, _ := v.(float64)
	return f
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
