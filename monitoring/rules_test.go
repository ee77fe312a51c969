package monitoring

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// ruleFile is the shape of a Prometheus rules file.
type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []rule `yaml:"rules"`
}

type rule struct {
	Alert       string            `yaml:"alert,omitempty"`
	Record      string            `yaml:"record,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// name is the alert or record name.
func (r rule) name() string { return r.Alert + r.Record }

// parseRules decodes a rules file, rejecting unknown keys (a misspelt
// "annotation:" would otherwise be dropped silently).
func parseRules(data []byte) (ruleFile, error) {
	var f ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return ruleFile{}, fmt.Errorf("decoding rules: %w", err)
	}
	return f, nil
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	data, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatalf("reading alerts.yml: %v", err)
	}
	f, err := parseRules(data)
	if err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	return f
}

// checkRules returns every contract problem in a rules file, each naming
// its rule.
func checkRules(f ruleFile) []string {
	recorded := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	var problems []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			for _, p := range checkExpr(r.Expr, recorded) {
				problems = append(problems, fmt.Sprintf("group %s, rule %s: %s", g.Name, r.name(), p))
			}
			for k, v := range r.Annotations {
				for _, p := range checkText(v) {
					problems = append(problems, fmt.Sprintf("group %s, rule %s, annotation %s: %s", g.Name, r.name(), k, p))
				}
			}
		}
	}
	return problems
}

func TestRulesUseOnlyContractMetrics(t *testing.T) {
	f := loadRules(t)
	if problems := checkRules(f); len(problems) > 0 {
		t.Errorf("alerts.yml uses names outside the metric contract:%s", describe(problems))
	}
	// Every contract metric the alerts are about must really be used, so a
	// rule cannot be emptied without this test noticing.
	used := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			sc, err := scanPromQL(r.Expr)
			if err != nil {
				t.Fatalf("rule %s: %v", r.name(), err)
			}
			for _, s := range sc.selectors {
				used[s.metric] = true
			}
		}
	}
	for _, m := range []string{
		"agentcloud_pool_queued", "agentcloud_pool_oldest_wait_seconds",
		"agentcloud_pool_max_wait_seconds", "agentcloud_pool_desired_agents",
		"agentcloud_pool_max_agents", "agentcloud_provider_errors_total",
		"agentcloud_installation_last_poll_success_timestamp_seconds",
		"agentcloud_installation_up", "agentcloud_boot_failures_total",
		"agentcloud_pool_unschedulable", "agentcloud_tick_duration_seconds_bucket",
	} {
		if !used[m] {
			t.Errorf("alerts.yml no longer uses %s", m)
		}
	}
}

func TestRulesCheckRejectsRenamedMetric(t *testing.T) {
	data, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatalf("reading alerts.yml: %v", err)
	}
	tests := []struct {
		old, new string
		want     string
	}{
		{"agentcloud_pool_queued > 10", "agentcloud_pool_queue_depth > 10", "metric agentcloud_pool_queue_depth is not in the contract"},
		{"rate(agentcloud_provider_errors_total[5m])", "rate(agentcloud_provider_error_total[5m])", "metric agentcloud_provider_error_total is not in the contract"},
		{"agentcloud_tick_duration_seconds_bucket[10m]", "agentcloud_tick_seconds_bucket[10m]", "metric agentcloud_tick_seconds_bucket is not in the contract"},
		{`agentcloud_pool_agents{state="busy"}`, `agentcloud_pool_agents{status="busy"}`, "metric agentcloud_pool_agents has no label status"},
		{"by (provider, op, kind)", "by (provider, op, error_type)", "grouping label error_type is carried by none of the metrics used"},
		{"agentcloud_installation_poll_errors_total and", "agentcloud_installation_poll_failures_total and", "text names agentcloud_installation_poll_failures_total"},
	}
	for _, tt := range tests {
		t.Run(tt.new, func(t *testing.T) {
			if !bytes.Contains(data, []byte(tt.old)) {
				t.Fatalf("alerts.yml no longer contains %q; update this test", tt.old)
			}
			f, err := parseRules(bytes.ReplaceAll(data, []byte(tt.old), []byte(tt.new)))
			if err != nil {
				t.Fatalf("mutated alerts.yml: %v", err)
			}
			problems := checkRules(f)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems = %v, want one containing %q", problems, tt.want)
			}
		})
	}
}

func TestParseRulesRejectsUnknownKeys(t *testing.T) {
	_, err := parseRules([]byte("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotation: {}\n"))
	if err == nil || !strings.Contains(err.Error(), "annotation") {
		t.Errorf("err = %v, want an error naming the unknown key annotation", err)
	}
}

// alertSpec is what every alert must carry.
type alertSpec struct {
	severity string
	// labels are the $labels the summary or description must name: the
	// labels the alert's series carry, so a page says where to look.
	labels []string
}

var wantAlerts = map[string]alertSpec{
	"AgentcloudQueueBacklog":           {"warning", poolLabels},
	"AgentcloudOldestWaitAboveMaxWait": {"warning", poolLabels},
	"AgentcloudPoolAtMax":              {"warning", poolLabels},
	"AgentcloudProviderErrors":         {"warning", []string{"provider", "op", "kind"}},
	"AgentcloudMasterStatusStale":      {"critical", []string{"installation"}},
	"AgentcloudBootFailures":           {"warning", poolLabels},
	"AgentcloudUnschedulableWork":      {"warning", poolLabels},
	"AgentcloudTickSlow":               {"warning", []string{"instance"}},
}

var templateLabel = regexp.MustCompile(`\$labels\.([a-z_]+)`)

func TestAlertsAreComplete(t *testing.T) {
	f := loadRules(t)
	i := slices.IndexFunc(f.Groups, func(g ruleGroup) bool { return g.Name == "agentcloud" })
	if i < 0 {
		t.Fatalf("alerts.yml has no group named agentcloud")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatalf("reading README.md: %v", err)
	}
	seen := map[string]bool{}
	for _, r := range f.Groups[i].Rules {
		if r.Alert == "" {
			t.Errorf("group agentcloud holds record %s; recording rules go in agentcloud.recording", r.Record)
			continue
		}
		seen[r.Alert] = true
		spec, ok := wantAlerts[r.Alert]
		if !ok {
			t.Errorf("alert %s is not expected; add it to wantAlerts and to the promtool tests", r.Alert)
			continue
		}
		if got := r.Labels["severity"]; got != spec.severity {
			t.Errorf("alert %s: severity = %q, want %q", r.Alert, got, spec.severity)
		}
		for _, k := range []string{"summary", "description", "runbook"} {
			if strings.TrimSpace(r.Annotations[k]) == "" {
				t.Errorf("alert %s: annotation %s is missing", r.Alert, k)
			}
		}
		text := r.Annotations["summary"] + " " + r.Annotations["description"]
		if !strings.Contains(text, "$value") {
			t.Errorf("alert %s: summary and description never show $value", r.Alert)
		}
		named := map[string]bool{}
		for _, m := range templateLabel.FindAllStringSubmatch(text, -1) {
			named[m[1]] = true
		}
		for _, l := range spec.labels {
			if !named[l] {
				t.Errorf("alert %s: summary and description never name $labels.%s", r.Alert, l)
			}
		}
		if !strings.Contains(r.Annotations["runbook"], "monitoring/README.md, "+r.Alert) {
			t.Errorf("alert %s: runbook does not point to its README section", r.Alert)
		}
		if !bytes.Contains(readme, []byte("### "+r.Alert+"\n")) {
			t.Errorf("alert %s: README.md has no section \"### %s\"", r.Alert, r.Alert)
		}
	}
	for name := range wantAlerts {
		if !seen[name] {
			t.Errorf("alert %s is missing from group agentcloud", name)
		}
	}
}

func TestScanPromQL(t *testing.T) {
	tests := []struct {
		expr      string
		selectors []string // metric{label op value,...}
		grouping  []string
		wantErr   bool
	}{
		{expr: "agentcloud_pool_queued > 10", selectors: []string{"agentcloud_pool_queued"}},
		{
			expr:      `agentcloud_pool_agents{state="busy", pool=~'li.*'} / ignoring(state) (x > 0)`,
			selectors: []string{`agentcloud_pool_agents{state="busy",pool=~"li.*"}`, "x"},
			grouping:  []string{"state"},
		},
		{
			expr:      "histogram_quantile(0.99, sum by (le, op) (rate(a_bucket[5m:1m] offset 1h30m)))",
			selectors: []string{"a_bucket"},
			grouping:  []string{"le", "op"},
		},
		{
			expr:      "sum(rate(a[$__rate_interval])) without (pool) and on (installation) group_left b",
			selectors: []string{"a", "b"},
			grouping:  []string{"pool", "installation"},
		},
		{expr: "time() - b > 120 # a comment naming c\n", selectors: []string{"b"}},
		{expr: `a:rate5m{x!~"1\"}"} or bool 1e3`, selectors: []string{`a:rate5m{x!~"1\"}"}`}},
		{expr: `{__name__="a", b="c"}`, selectors: []string{`a{__name__="a",b="c"}`}},
		{expr: `a{b="c"`, wantErr: true},
		{expr: `a{b}`, wantErr: true},
		{expr: `a{b=c}`, wantErr: true},
		{expr: `rate(a[5m)`, wantErr: true},
		{expr: `{b="c"}`, wantErr: true},
		{expr: `sum by (1) (a)`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := scanPromQL(tt.expr)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("scanPromQL(%q) = %+v, want an error", tt.expr, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("scanPromQL(%q): %v", tt.expr, err)
			}
			var sels []string
			for _, s := range got.selectors {
				sels = append(sels, s.String())
			}
			if !slices.Equal(sels, tt.selectors) {
				t.Errorf("selectors = %q, want %q", sels, tt.selectors)
			}
			if !slices.Equal(got.grouping, tt.grouping) {
				t.Errorf("grouping = %q, want %q", got.grouping, tt.grouping)
			}
		})
	}
}

// String renders a selector for test comparisons.
func (s selector) String() string {
	if len(s.matchers) == 0 {
		return s.metric
	}
	var ms []string
	for _, m := range s.matchers {
		ms = append(ms, fmt.Sprintf("%s%s%q", m.label, m.op, m.value))
	}
	return s.metric + "{" + strings.Join(ms, ",") + "}"
}

func TestCheckExpr(t *testing.T) {
	recorded := map[string]bool{"agentcloud:pool_utilisation:ratio": true}
	tests := []struct {
		expr string
		want []string
	}{
		{"agentcloud_pool_queued > 10", nil},
		{`agentcloud_pool_agents{state="busy",job="cloudmgr"}`, nil},
		{"histogram_quantile(0.95, sum by (provider, op, le) (rate(agentcloud_provider_call_duration_seconds_bucket[5m])))", nil},
		{"rate(agentcloud_tick_duration_seconds_sum[5m]) / rate(agentcloud_tick_duration_seconds_count[5m])", nil},
		{"avg by (pool) (agentcloud:pool_utilisation:ratio)", nil},
		{"agentcloud:pool_saturation:ratio", []string{"metric agentcloud:pool_saturation:ratio is not in the contract"}},
		{"up == 0", []string{"metric up is not in the contract"}},
		{"agentcloud_tick_duration_seconds > 1", []string{"metric agentcloud_tick_duration_seconds is not in the contract"}},
		{`agentcloud_pool_queued{le="1"}`, []string{"metric agentcloud_pool_queued has no label le"}},
		{"sum by (pool) (agentcloud_installation_up)", []string{"grouping label pool is carried by none of the metrics used"}},
		{"a{", []string{`scanning "a{" at offset 2: matchers of a: want a label name or }, got "\x00"`}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			if got := checkExpr(tt.expr, recorded); !slices.Equal(got, tt.want) {
				t.Errorf("checkExpr(%q) = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestCheckText(t *testing.T) {
	got := checkText("see agentcloud_provider_call_duration_seconds and agentcloud_pool_queued_total")
	want := []string{"text names agentcloud_pool_queued_total, which is not in the contract"}
	if !slices.Equal(got, want) {
		t.Errorf("checkText = %q, want %q", got, want)
	}
}
