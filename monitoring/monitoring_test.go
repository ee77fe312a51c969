package monitoring

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// promtool returns the path of promtool, skipping the test when it is not
// installed, or failing it when AGENTCLOUD_REQUIRE_COMPONENTS=1.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err == nil {
		return p
	}
	const hint = "promtool not found in PATH; it comes with the Debian package prometheus (apt-get install -y prometheus)"
	if os.Getenv("AGENTCLOUD_REQUIRE_COMPONENTS") == "1" {
		t.Fatalf("%s, and AGENTCLOUD_REQUIRE_COMPONENTS=1: %v", hint, err)
	}
	t.Skipf("%s: skipping the promtool rule checks", hint)
	return ""
}

// runPromtool runs promtool in dir and returns its combined output.
func runPromtool(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestPromtoolCheckRules(t *testing.T) {
	out, err := runPromtool(t, ".", "check", "rules", "--lint=all", "--lint-fatal", "alerts.yml")
	if err != nil {
		t.Fatalf("promtool check rules alerts.yml: %v\n%s", err, out)
	}
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check rules alerts.yml did not report SUCCESS:\n%s", out)
	}
}

func TestPromtoolTestRules(t *testing.T) {
	out, err := runPromtool(t, ".", "test", "rules", "alerts_test.yml")
	if err != nil {
		t.Fatalf("promtool test rules alerts_test.yml: %v\n%s", err, out)
	}
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules alerts_test.yml did not report SUCCESS:\n%s", out)
	}
}

// TestPromtoolDashboardQueriesParse has promtool parse every dashboard
// query, by loading them as recording rules with Grafana's variables
// replaced by values a real dashboard would send.
func TestPromtoolDashboardQueriesParse(t *testing.T) {
	promtool(t)
	d := loadDashboard(t)
	vars := strings.NewReplacer("$__rate_interval", "1m", "$installation", ".*", "$pool", ".*")
	f := ruleFile{Groups: []ruleGroup{{Name: "dashboard"}}}
	for _, p := range flatten(d.Panels) {
		for _, tg := range p.Targets {
			f.Groups[0].Rules = append(f.Groups[0].Rules, rule{
				Record: fmt.Sprintf("dashboard:panel%d:%s", p.ID, strings.ToLower(tg.RefID)),
				Expr:   vars.Replace(tg.Expr),
			})
		}
	}
	data, err := yaml.Marshal(f)
	if err != nil {
		t.Fatalf("encoding dashboard queries as rules: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard_rules.yml"), data, 0o644); err != nil {
		t.Fatalf("writing dashboard_rules.yml: %v", err)
	}
	if out, err := runPromtool(t, dir, "check", "rules", "dashboard_rules.yml"); err != nil {
		t.Fatalf("promtool rejects a dashboard query: %v\n%s\n%s", err, out, data)
	}
}

// TestPromtoolTestsCatchBrokenRules proves alerts_test.yml can fail: each
// case breaks one rule in a copy of alerts.yml in a way that is still valid
// PromQL (a looser threshold, a shorter `for`, a dropped guard), and the
// promtool unit tests must then report FAILED.
func TestPromtoolTestsCatchBrokenRules(t *testing.T) {
	promtool(t)
	rules, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatalf("reading alerts.yml: %v", err)
	}
	tests, err := os.ReadFile("alerts_test.yml")
	if err != nil {
		t.Fatalf("reading alerts_test.yml: %v", err)
	}
	mutations := []struct {
		name     string
		old, new string
	}{
		{"backlog threshold 9", "expr: agentcloud_pool_queued > 10", "expr: agentcloud_pool_queued > 9"},
		{"backlog for 5m", "expr: agentcloud_pool_queued > 10\n        for: 10m", "expr: agentcloud_pool_queued > 10\n        for: 5m"},
		{"max_wait 0 not excluded", "and (agentcloud_pool_max_wait_seconds > 0)", "and (agentcloud_pool_max_wait_seconds >= 0)"},
		{"max_wait for 3m", "and (agentcloud_pool_max_wait_seconds > 0)\n        for: 5m", "and (agentcloud_pool_max_wait_seconds > 0)\n        for: 3m"},
		{"at max without queue", "(agentcloud_pool_queued > 0)\n          and", "(agentcloud_pool_queued >= 0)\n          and"},
		{"at max one below", ">= agentcloud_pool_max_agents)", ">= agentcloud_pool_max_agents - 1)"},
		{"provider errors for 5m", "  ) > 0\n        for: 10m", "  ) > 0\n        for: 5m"},
		{"stale after 60s", "\n          > 120\n", "\n          > 60\n"},
		{"down for 3m", "expr: agentcloud_installation_up == 0\n        for: 5m", "expr: agentcloud_installation_up == 0\n        for: 3m"},
		{"boot failures without round", "round(increase(agentcloud_boot_failures_total[30m])) > 2", "increase(agentcloud_boot_failures_total[30m]) > 2"},
		{"boot failures over 1h", "round(increase(agentcloud_boot_failures_total[30m]))", "round(increase(agentcloud_boot_failures_total[1h]))"},
		{"unschedulable for 10m", "expr: agentcloud_pool_unschedulable > 0\n        for: 15m", "expr: agentcloud_pool_unschedulable > 0\n        for: 10m"},
		{"tick limit 4.9", "\n          ) > 5\n", "\n          ) > 4.9\n"},
		{"summary wording", "compositions queued in pool {{ $labels.pool }}", "compositions waiting in pool {{ $labels.pool }}"},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			if n := bytes.Count(rules, []byte(m.old)); n != 1 {
				t.Fatalf("alerts.yml contains %q %d times, want once; update this test", m.old, n)
			}
			dir := t.TempDir()
			broken := bytes.Replace(rules, []byte(m.old), []byte(m.new), 1)
			if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), broken, 0o644); err != nil {
				t.Fatalf("writing broken alerts.yml: %v", err)
			}
			if err := os.WriteFile(filepath.Join(dir, "alerts_test.yml"), tests, 0o644); err != nil {
				t.Fatalf("writing alerts_test.yml: %v", err)
			}
			if out, err := runPromtool(t, dir, "check", "rules", "alerts.yml"); err != nil {
				t.Fatalf("the broken rules must stay valid, so that only the unit tests catch them: %v\n%s", err, out)
			}
			out, err := runPromtool(t, dir, "test", "rules", "alerts_test.yml")
			if err == nil || !strings.Contains(out, "FAILED") {
				t.Errorf("promtool test rules passed with %s (%q -> %q); alerts_test.yml misses that case:\n%s", m.name, m.old, m.new, out)
			}
		})
	}
}
