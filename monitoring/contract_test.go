package monitoring

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// contractMetric is one metric cloudmgr exports, as the project brief lists
// it under "Metric names cloudmgr exports". Rules and dashboards may use
// these and nothing else: renaming a metric on either side breaks the tests.
type contractMetric struct {
	name   string
	kind   string // gauge, counter or histogram
	labels []string
}

// poolLabels is the label set of every per-pool metric.
var poolLabels = []string{"installation", "pool"}

// contract is the brief's list, kept by hand on purpose: it is the promise
// between cloudmgr and these rules.
var contract = []contractMetric{
	{"agentcloud_pool_queued", "gauge", poolLabels},
	{"agentcloud_pool_oldest_wait_seconds", "gauge", poolLabels},
	{"agentcloud_pool_max_wait_seconds", "gauge", poolLabels},
	{"agentcloud_pool_unschedulable", "gauge", poolLabels},
	{"agentcloud_pool_agents", "gauge", with(poolLabels, "state")},
	{"agentcloud_pool_instances", "gauge", with(poolLabels, "state")},
	{"agentcloud_pool_desired_agents", "gauge", poolLabels},
	{"agentcloud_pool_actual_agents", "gauge", poolLabels},
	{"agentcloud_pool_min_agents", "gauge", poolLabels},
	{"agentcloud_pool_max_agents", "gauge", poolLabels},
	{"agentcloud_actions_total", "counter", with(poolLabels, "kind", "reason")},
	{"agentcloud_action_errors_total", "counter", with(poolLabels, "kind", "error_kind")},
	{"agentcloud_boot_failures_total", "counter", poolLabels},
	{"agentcloud_provider_call_duration_seconds", "histogram", []string{"provider", "op"}},
	// Provider calls are not per pool: cloudmgr/metrics exports this one,
	// like the call duration, without installation and pool labels.
	{"agentcloud_provider_errors_total", "counter", []string{"provider", "op", "kind"}},
	{"agentcloud_tick_duration_seconds", "histogram", nil},
	{"agentcloud_installation_up", "gauge", []string{"installation"}},
	{"agentcloud_installation_last_poll_success_timestamp_seconds", "gauge", []string{"installation"}},
	{"agentcloud_installation_poll_errors_total", "counter", []string{"installation"}},
}

// targetLabels are added by Prometheus to every scraped series.
var targetLabels = []string{"job", "instance"}

func with(base []string, more ...string) []string {
	return append(slices.Clone(base), more...)
}

// resolveSeries maps a series name as written in PromQL to its contract
// metric: histograms are queried through _bucket, _sum and _count. extra
// holds labels the suffix adds (le on _bucket).
func resolveSeries(name string) (m contractMetric, extra []string, ok bool) {
	for _, c := range contract {
		if c.kind != "histogram" && c.name == name {
			return c, nil, true
		}
		if c.kind == "histogram" {
			switch name {
			case c.name + "_bucket":
				return c, []string{"le"}, true
			case c.name + "_sum", c.name + "_count":
				return c, nil, true
			}
		}
	}
	return contractMetric{}, nil, false
}

// checkExpr returns what is wrong with expr against the contract: unknown
// metric names, label matchers on labels the metric does not carry, and
// grouping by labels none of the expression's metrics carry. recorded holds
// recording rule names that may be used as well.
func checkExpr(expr string, recorded map[string]bool) []string {
	sc, err := scanPromQL(expr)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	known := slices.Clone(targetLabels)
	for _, sel := range sc.selectors {
		if recorded[sel.metric] {
			continue
		}
		m, extra, ok := resolveSeries(sel.metric)
		if !ok {
			problems = append(problems, fmt.Sprintf("metric %s is not in the contract", sel.metric))
			continue
		}
		labels := append(with(m.labels, extra...), targetLabels...)
		known = append(known, labels...)
		for _, mt := range sel.matchers {
			if !slices.Contains(labels, mt.label) {
				problems = append(problems, fmt.Sprintf("metric %s has no label %s", sel.metric, mt.label))
			}
		}
	}
	if len(sc.selectors) > 0 && allRecorded(sc.selectors, recorded) {
		return problems // grouping over recorded series: their labels are checked where recorded
	}
	for _, l := range sc.grouping {
		if !slices.Contains(known, l) {
			problems = append(problems, fmt.Sprintf("grouping label %s is carried by none of the metrics used", l))
		}
	}
	return problems
}

func allRecorded(sels []selector, recorded map[string]bool) bool {
	for _, s := range sels {
		if !recorded[s.metric] {
			return false
		}
	}
	return true
}

// metricWord finds metric names mentioned in free text (annotations).
var metricWord = regexp.MustCompile(`\bagentcloud_[a-z0-9_]+`)

// checkText returns the agentcloud_* names in text that are not contract
// metrics (a histogram's own name counts: prose talks about it).
func checkText(text string) []string {
	var problems []string
	for _, w := range metricWord.FindAllString(text, -1) {
		if _, _, ok := resolveSeries(w); ok {
			continue
		}
		if slices.ContainsFunc(contract, func(c contractMetric) bool { return c.name == w }) {
			continue
		}
		problems = append(problems, fmt.Sprintf("text names %s, which is not in the contract", w))
	}
	return problems
}

// describe joins problems for a failure message.
func describe(problems []string) string {
	return "\n  " + strings.Join(problems, "\n  ")
}
