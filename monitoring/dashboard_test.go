package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dashboard is the part of a Grafana dashboard these tests read.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []templateVar `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int        `json:"id"`
	Type       string     `json:"type"`
	Title      string     `json:"title"`
	Datasource datasource `json:"datasource"`
	GridPos    *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID      string     `json:"refId"`
		Expr       string     `json:"expr"`
		Datasource datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // rows hold panels
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type templateVar struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Query any    `json:"query"` // a string, or {"query": "..."} in newer Grafana
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatalf("reading dashboard.json: %v", err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard.json is not valid JSON for a dashboard: %v", err)
	}
	return d
}

// flatten lists every panel, rows' panels included.
func flatten(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatten(p.Panels)...)
	}
	return out
}

// checkTemplated returns selectors that do not filter on the $installation
// and $pool variables although their metric carries those labels.
func checkTemplated(expr string) []string {
	sc, err := scanPromQL(expr)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for _, sel := range sc.selectors {
		m, _, ok := resolveSeries(sel.metric)
		if !ok {
			continue
		}
		for _, l := range []string{"installation", "pool"} {
			if !slices.Contains(m.labels, l) {
				continue
			}
			if !slices.Contains(sel.matchers, matcher{label: l, op: "=~", value: "$" + l}) {
				problems = append(problems, fmt.Sprintf("%s is not filtered by %s=~\"$%s\"", sel.metric, l, l))
			}
		}
	}
	return problems
}

func TestDashboardUsesOnlyContractMetrics(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q, title %q: both must be set", d.UID, d.Title)
	}
	used := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range flatten(d.Panels) {
		if p.Type == "row" {
			continue
		}
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if p.Title == "" || p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("%s: needs a title and a gridPos with width and height", where)
		}
		if ids[p.ID] {
			t.Errorf("%s: id %d is used twice", where, p.ID)
		}
		ids[p.ID] = true
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("%s: datasource uid = %q, want ${datasource}", where, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: has no query", where)
		}
		for _, tg := range p.Targets {
			where := fmt.Sprintf("%s, target %s", where, tg.RefID)
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s: empty expr", where)
				continue
			}
			if problems := checkExpr(tg.Expr, nil); len(problems) > 0 {
				t.Errorf("%s: %q:%s", where, tg.Expr, describe(problems))
			}
			if problems := checkTemplated(tg.Expr); len(problems) > 0 {
				t.Errorf("%s: %q:%s", where, tg.Expr, describe(problems))
			}
			sc, err := scanPromQL(tg.Expr)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			for _, s := range sc.selectors {
				used[s.metric] = true
			}
		}
	}
	// The panels the dashboard promises: queue depth, oldest wait vs
	// max_wait, agents by state, desired vs actual, actions by kind and
	// reason, provider latency p95, errors.
	for _, m := range []string{
		"agentcloud_pool_queued", "agentcloud_pool_oldest_wait_seconds",
		"agentcloud_pool_max_wait_seconds", "agentcloud_pool_agents",
		"agentcloud_pool_desired_agents", "agentcloud_pool_actual_agents",
		"agentcloud_actions_total", "agentcloud_provider_call_duration_seconds_bucket",
		"agentcloud_provider_errors_total", "agentcloud_action_errors_total",
	} {
		if !used[m] {
			t.Errorf("no dashboard panel queries %s", m)
		}
	}
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

func TestDashboardTemplatedOnInstallationAndPool(t *testing.T) {
	d := loadDashboard(t)
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		vars[v.Name] = q
	}
	for _, name := range []string{"installation", "pool"} {
		q, ok := vars[name]
		if !ok {
			t.Errorf("dashboard has no query variable %s", name)
			continue
		}
		m := labelValues.FindStringSubmatch(q)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(<selector>, <label>)", name, q)
			continue
		}
		if m[2] != name {
			t.Errorf("variable %s lists the values of label %s", name, m[2])
		}
		if problems := checkExpr(m[1], nil); len(problems) > 0 {
			t.Errorf("variable %s: %q:%s", name, m[1], describe(problems))
		}
		sc, err := scanPromQL(m[1])
		if err != nil || len(sc.selectors) != 1 {
			t.Errorf("variable %s: want one selector in %q (err %v)", name, m[1], err)
			continue
		}
		if mt, _, ok := resolveSeries(sc.selectors[0].metric); ok && !slices.Contains(mt.labels, name) {
			t.Errorf("variable %s: metric %s has no label %s", name, mt.name, name)
		}
	}
	if q := vars["pool"]; !strings.Contains(q, `installation=~"$installation"`) {
		t.Errorf("variable pool: query %q does not follow the chosen installation", q)
	}
}

func TestCheckTemplated(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`agentcloud_pool_queued{installation=~"$installation", pool=~"$pool"}`, nil},
		{`agentcloud_installation_up{installation=~"$installation"}`, nil},
		{`rate(agentcloud_provider_call_duration_seconds_bucket[5m])`, nil},
		{`agentcloud_pool_queued{installation=~"$installation"}`, []string{`agentcloud_pool_queued is not filtered by pool=~"$pool"`}},
		{`agentcloud_installation_up`, []string{`agentcloud_installation_up is not filtered by installation=~"$installation"`}},
	}
	for _, tt := range tests {
		if got := checkTemplated(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("checkTemplated(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}
