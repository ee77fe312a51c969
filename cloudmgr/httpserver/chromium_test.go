//go:build linux

package httpserver

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentcloud/agentcloud/cloudmgr/scaler"
	"github.com/agentcloud/agentcloud/providers"
)

// chromiumRunTimeout bounds one headless Chromium run (it starts in about a
// second on an idle machine; the margin is for a loaded one).
const chromiumRunTimeout = 20 * time.Second

// envScreenshot, when set, names a file the test copies its screenshot to,
// for a human (or CI artifact) to look at.
const envScreenshot = "AGENTCLOUD_STATUS_SCREENSHOT"

// browserReport is a busy moment of two installations: ci-main scaling one
// pool up (a resume, creates, one failed) while another sits at max_agents
// with queued work, and ci-release whose master cannot be polled.
func browserReport(now time.Time) *scaler.Report {
	linuxHead := "backlog: 14 queued + 6 busy + 0 warm = 20 wanted, capacity 8: adding 4 (scale_up_step 4)"
	linuxCreate := linuxHead + ": creating 3 in offering 0 (eu-west-1a/m6i.large)"
	return &scaler.Report{
		Ticks: 412, TickStarted: now.Add(-2 * time.Second), TickEnded: now.Add(-2*time.Second + 184*time.Millisecond),
		TickSeconds: 0.184, ListCalls: 3,
		Installations: []scaler.InstallationReport{{
			Name: "ci-main", MaxAgents: 60,
			Poll: scaler.PollReport{Up: true, FetchedAt: now.Add(-4 * time.Second), AttemptedAt: now.Add(-4 * time.Second)},
			Pools: []scaler.PoolReport{{
				Pool: "linux-x64", Provider: "ec2", Source: "policies/ci-main.yaml:12",
				Queued: 14, OldestWaitSeconds: 312, Want: 20, Min: 2, Max: 30,
				Agents:    scaler.AgentCounts{Busy: 6, Booting: 2, Suspended: 1, Capacity: 8},
				Instances: map[providers.State]int{providers.StateRunning: 6, providers.StatePending: 2, providers.StateSuspended: 1},
				Actions: []scaler.ActionReport{
					{Time: now, Kind: "resume", Instance: "ci-main-linux-x64-0007", Code: "backlog",
						Reason: linuxHead + ": resuming ci-main-linux-x64-0007 (suspended 2h5m0s ago)"},
					{Time: now, Kind: "create", Instance: "ci-main-linux-x64-0012", Code: "backlog", Reason: linuxCreate},
					{Time: now, Kind: "create", Instance: "ci-main-linux-x64-0013", Code: "backlog", Reason: linuxCreate},
					{Time: now, Kind: "create", Instance: "ci-main-linux-x64-0014", Code: "backlog", Reason: linuxCreate,
						ErrorKind: "capacity", Error: "creating instance ci-main-linux-x64-0014: InsufficientInstanceCapacity: " +
							"We currently do not have sufficient m6i.large capacity in the Availability Zone you requested (eu-west-1a)."},
				},
				Holds:    []string{},
				Recent:   []scaler.ActionReport{},
				LastTick: now,
			}, {
				Pool: "windows", Provider: "gce", Source: "policies/ci-main.yaml:31",
				Queued: 3, OldestWaitSeconds: 1420, Unschedulable: 1, Want: 4, Min: 0, Max: 4,
				Agents:    scaler.AgentCounts{Busy: 4, ByHand: 1, Capacity: 4},
				Instances: map[providers.State]int{providers.StateRunning: 3},
				Actions:   []scaler.ActionReport{},
				Holds:     []string{"max_wait: oldest queued waited 23m40s > max_wait 15m0s, but at max_agents 4"},
				Recent: []scaler.ActionReport{{Time: now.Add(-40 * time.Minute), Kind: "create", Instance: "ci-main-windows-0004", Code: "backlog",
					Reason: "backlog: 2 queued + 3 busy + 0 warm = 5 wanted, capped at max_agents 4, capacity 3: adding 1: " +
						"creating 1 in offering 0 (europe-west1-b/n2-standard-8)"}},
				LastTick: now,
			}},
		}, {
			Name: "ci-release",
			Poll: scaler.PollReport{Stale: true, FetchedAt: now.Add(-190 * time.Second), AttemptedAt: now.Add(-5 * time.Second), Failures: 19,
				Error: "fetching pool status from http://127.0.0.1:8112/api/v1/pools: dial tcp 127.0.0.1:8112: connect: connection refused"},
			Pools: []scaler.PoolReport{{
				Pool: "arm64", Provider: "docker", Source: "policies/ci-release.yaml:5", Stale: true,
				Queued: 2, OldestWaitSeconds: 75, Want: 1, Min: 1, Max: 6,
				Agents:    scaler.AgentCounts{Idle: 1, Draining: 1, Capacity: 1},
				Instances: map[providers.State]int{providers.StateRunning: 2},
				Actions:   []scaler.ActionReport{},
				Holds: []string{
					"status stale: no scale-down and no destroys; only keeping min_agents 1 (capacity 2 counted from instances)",
					"1 draining agent still busy (ci-release-arm64-0003): acting once idle",
				},
				Recent: []scaler.ActionReport{{Time: now.Add(-6 * time.Minute), Kind: "suspend", Instance: "ci-release-arm64-0002", Code: "idle",
					Reason:    "idle: capacity 3 above want 1: ci-release-arm64-0002 is drained and idle",
					ErrorKind: "unavailable", Error: "suspending ci-release-arm64-0002: Cannot connect to the Docker daemon"}},
				Failures: 2, BackoffUntil: now.Add(40 * time.Second),
				LastTick: now,
			}},
		}},
	}
}

// poolWant is what one pool's row must show once Chromium has laid it out.
type poolWant struct {
	installation, pool string
	// exact maps a column header to the cell's whole text.
	exact map[string]string
	// contains maps a column header to texts the cell must contain.
	contains map[string][]string
}

func TestStatusPageInChromium(t *testing.T) {
	bin := chromiumBinary(t)
	now := time.Now().UTC()
	srv := server(t, &source{report: browserReport(now), ready: true})

	dom := parseDOM(t, runChromium(t, bin, "--dump-dom", srv.URL+"/"))

	if got := dom.find("title").text(); got != "agentcloud: cloudmgr status" {
		t.Errorf("title = %q", got)
	}
	if n := len(dom.findAll("script")); n != 0 {
		t.Errorf("the page has %d script elements; it should have none", n)
	}
	body := dom.find("body")
	if body == nil {
		t.Fatal("no body in the DOM Chromium dumped")
	}
	if got := body.find("p").text(); !strings.Contains(got, "ready") || !strings.Contains(got, "412 ticks") ||
		!strings.Contains(got, "184ms, 3 list calls") {
		t.Errorf("header line = %q", got)
	}

	sections := installationSections(t, body)
	var names []string
	for _, s := range sections {
		names = append(names, s.name)
	}
	if strings.Join(names, ",") != "ci-main,ci-release" {
		t.Fatalf("installations on the page = %q, want ci-main,ci-release in that order", names)
	}
	// "ago" counts from when Chromium fetched the page, seconds after now.
	if !regexp.MustCompile(`last success \d+s ago`).MatchString(sections[0].status) {
		t.Errorf("ci-main status line %q lacks when the last poll succeeded", sections[0].status)
	}
	for _, want := range []string{"up", "cap 60 agents"} {
		if !strings.Contains(sections[0].status, want) {
			t.Errorf("ci-main status line %q lacks %q", sections[0].status, want)
		}
	}
	for _, want := range []string{
		"down", "status stale: pools hold", "(19 failed polls)",
		"fetching pool status from http://127.0.0.1:8112/api/v1/pools: dial tcp 127.0.0.1:8112: connect: connection refused",
	} {
		if !strings.Contains(sections[1].status, want) {
			t.Errorf("ci-release status line %q lacks %q", sections[1].status, want)
		}
	}
	if strings.Contains(sections[1].status, "cap ") {
		t.Errorf("ci-release has no cap but its status line says %q", sections[1].status)
	}

	linuxCreate := "backlog: 14 queued + 6 busy + 0 warm = 20 wanted, capacity 8: adding 4 (scale_up_step 4): " +
		"creating 3 in offering 0 (eu-west-1a/m6i.large)"
	wants := []poolWant{{
		installation: "ci-main", pool: "linux-x64",
		exact: map[string]string{
			"queued": "14", "oldest wait": "5m12s", "unsched.": "0", "agents": "6 busy 2 booting 1 suspended",
			"want / actual": "20 / 8", "min–max": "2–30", "holds": "none",
		},
		contains: map[string][]string{
			"pool": {"ec2", "policies/ci-main.yaml:12"},
			"last actions": {
				"resume ci-main-linux-x64-0007: backlog: 14 queued + 6 busy + 0 warm = 20 wanted, capacity 8: adding 4 " +
					"(scale_up_step 4): resuming ci-main-linux-x64-0007 (suspended 2h5m0s ago)",
				"create ci-main-linux-x64-0012: " + linuxCreate,
				"create ci-main-linux-x64-0013: " + linuxCreate,
				"create ci-main-linux-x64-0014: " + linuxCreate,
				"failed (capacity): creating instance ci-main-linux-x64-0014: InsufficientInstanceCapacity",
			},
		},
	}, {
		installation: "ci-main", pool: "windows",
		exact: map[string]string{
			"queued": "3", "oldest wait": "23m40s", "unsched.": "1", "agents": "4 busy (1 by hand)",
			"want / actual": "4 / 4", "min–max": "0–4",
		},
		contains: map[string][]string{
			"pool":         {"gce", "policies/ci-main.yaml:31"},
			"last actions": {"create ci-main-windows-0004: backlog: 2 queued + 3 busy + 0 warm = 5 wanted, capped at max_agents 4"},
			"holds":        {"max_wait: oldest queued waited 23m40s > max_wait 15m0s, but at max_agents 4"},
		},
	}, {
		installation: "ci-release", pool: "arm64",
		exact: map[string]string{
			"queued": "2", "oldest wait": "1m15s", "unsched.": "0", "agents": "1 idle 1 draining",
			"want / actual": "1 / 1", "min–max": "1–6",
		},
		contains: map[string][]string{
			"pool": {"docker", "policies/ci-release.yaml:5", "stale", "(2 failures)"},
			"last actions": {"suspend ci-release-arm64-0002: idle: capacity 3 above want 1: ci-release-arm64-0002 is drained and idle",
				"failed (unavailable)"},
			"holds": {
				"status stale: no scale-down and no destroys; only keeping min_agents 1 (capacity 2 counted from instances)",
				"1 draining agent still busy (ci-release-arm64-0003): acting once idle",
			},
		},
	}}
	rows := map[string]map[string]string{} // installation/pool -> header -> cell text
	for _, s := range sections {
		for _, r := range s.rows {
			rows[s.name+"/"+r["pool"]] = r
		}
	}
	if len(rows) != len(wants) {
		t.Errorf("the page has %d pool rows, want %d: %v", len(rows), len(wants), rows)
	}
	for _, w := range wants {
		var row map[string]string
		for key, r := range rows {
			if strings.HasPrefix(key, w.installation+"/"+w.pool+" ") {
				row = r
			}
		}
		if row == nil {
			t.Errorf("pool %s/%s is not on the page", w.installation, w.pool)
			continue
		}
		for col, want := range w.exact {
			if got, ok := row[col]; !ok || got != want {
				t.Errorf("%s/%s column %q = %q, want %q", w.installation, w.pool, col, got, want)
			}
		}
		for col, wants := range w.contains {
			for _, want := range wants {
				if !strings.Contains(row[col], want) {
					t.Errorf("%s/%s column %q lacks %q; it reads %q", w.installation, w.pool, col, want, row[col])
				}
			}
		}
	}

	shot := filepath.Join(t.TempDir(), "status-page.png")
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1280,900", "--hide-scrollbars", srv.URL+"/")
	checkScreenshot(t, shot, 1280, 900)
	if dst := os.Getenv(envScreenshot); dst != "" {
		if b, err := os.ReadFile(shot); err != nil || os.WriteFile(dst, b, 0o644) != nil {
			t.Errorf("copying the screenshot to %s (%s): failed", dst, envScreenshot)
		}
	}
}

// chromiumBinary finds Debian's chromium, or skips (fails under
// AGENTCLOUD_REQUIRE_COMPONENTS=1).
func chromiumBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("AGENTCLOUD_REQUIRE_COMPONENTS") == "1" {
			t.Fatal("chromium not found in PATH (Debian package chromium) and AGENTCLOUD_REQUIRE_COMPONENTS=1")
		}
		t.Skip("chromium not installed (Debian package chromium): skipping the status page browser test")
	}
	return bin
}

// runChromium runs headless Chromium once, with its own profile and HOME, in
// its own process group that is killed on timeout and at cleanup; it returns
// what Chromium wrote to stdout.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), chromiumRunTimeout)
	defer cancel()
	all := append([]string{"--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir=" + filepath.Join(home, "profile")}, args...)
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	// Registered after TempDir, so it runs first: no helper left writing
	// into the profile while it is removed.
	pgid := cmd.Process.Pid
	t.Cleanup(func() { syscall.Kill(-pgid, syscall.SIGKILL) })
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("chromium %s: no result within %s; stderr ends:\n%s", strings.Join(args, " "), chromiumRunTimeout, tail(stderr.String(), 30))
	}
	if err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		t.Fatalf("chromium %s: %v; stderr ends:\n%s", strings.Join(args, " "), err, tail(stderr.String(), 30))
	}
	return stdout.Bytes()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// checkScreenshot decodes the PNG at path and checks it is a w×h picture of
// a styled page: many colours, dark text, and the header cells' #f3f3f3 fill.
func checkScreenshot(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decoding the screenshot %s: %v", path, err)
	}
	if got := img.Bounds().Size(); got != (image.Point{X: w, Y: h}) {
		t.Errorf("screenshot is %v, want %dx%d", got, w, h)
	}
	colours := map[[3]uint32]int{}
	dark, headerFill := 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			c := [3]uint32{r >> 8, g >> 8, bl >> 8}
			colours[c]++
			if c[0] < 0x60 && c[1] < 0x60 && c[2] < 0x60 {
				dark++
			}
			if c == [3]uint32{0xf3, 0xf3, 0xf3} {
				headerFill++
			}
		}
	}
	total := b.Dx() * b.Dy()
	if len(colours) < 16 {
		t.Errorf("screenshot has %d colours: the page did not render", len(colours))
	}
	if dark < total/1000 {
		t.Errorf("screenshot has %d dark pixels of %d: no text rendered", dark, total)
	}
	if headerFill < 10000 {
		t.Errorf("screenshot has %d pixels of the header fill #f3f3f3: the page's style was not applied", headerFill)
	}
}

// domNode is an element (tag set) or a text node of the DOM Chromium dumped.
type domNode struct {
	tag  string
	data string
	kids []*domNode
}

// parseDOM parses Chromium's --dump-dom output: the serialised DOM closes
// every element but the void ones, which HTMLAutoClose closes.
func parseDOM(t *testing.T, b []byte) *domNode {
	t.Helper()
	if !bytes.Contains(b, []byte("<html")) {
		t.Fatalf("chromium dumped no document:\n%s", b)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	root := &domNode{tag: "#document"}
	stack := []*domNode{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parsing the DOM chromium dumped: %v\n%s", err, b)
		}
		top := stack[len(stack)-1]
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &domNode{tag: strings.ToLower(tok.Name.Local)}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			top.kids = append(top.kids, &domNode{data: string(tok)})
		}
	}
	return root
}

// findAll returns the elements named tag under n, in document order.
func (n *domNode) findAll(tag string) []*domNode {
	var out []*domNode
	for _, k := range n.kids {
		if k.tag == tag {
			out = append(out, k)
		}
		out = append(out, k.findAll(tag)...)
	}
	return out
}

// find returns the first element named tag under n, or nil.
func (n *domNode) find(tag string) *domNode {
	if all := n.findAll(tag); len(all) > 0 {
		return all[0]
	}
	return nil
}

// text is n's text content with whitespace collapsed; a <br> and the start
// of an <li> count as a space. A nil node has no text.
func (n *domNode) text() string {
	if n == nil {
		return ""
	}
	var sb strings.Builder
	var walk func(*domNode)
	walk = func(n *domNode) {
		if n.tag == "br" || n.tag == "li" {
			sb.WriteString(" ")
		}
		sb.WriteString(n.data)
		for _, k := range n.kids {
			walk(k)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(sb.String()), " ")
}

// section is one installation as the page shows it.
type section struct {
	name, status string
	// rows are the pool rows, each a map from column header to cell text.
	rows []map[string]string
}

// installationSections reads the body's h2 / status p / table sequence.
func installationSections(t *testing.T, body *domNode) []section {
	t.Helper()
	var out []section
	for _, k := range body.kids {
		switch {
		case k.tag == "h2":
			out = append(out, section{name: k.text()})
		case len(out) == 0:
		case k.tag == "p" && out[len(out)-1].status == "":
			out[len(out)-1].status = k.text()
		case k.tag == "table":
			out[len(out)-1].rows = tableRows(t, out[len(out)-1].name, k)
		}
	}
	return out
}

// tableRows maps each data row of a pools table to header -> cell text, and
// checks every row has one cell per header (a row the browser had to repair
// would not).
func tableRows(t *testing.T, name string, table *domNode) []map[string]string {
	t.Helper()
	trs := table.findAll("tr")
	if len(trs) == 0 {
		t.Errorf("%s: pools table has no rows", name)
		return nil
	}
	var headers []string
	for _, th := range trs[0].findAll("th") {
		headers = append(headers, th.text())
	}
	var out []map[string]string
	for _, tr := range trs[1:] {
		tds := tr.findAll("td")
		if len(tds) != len(headers) {
			t.Errorf("%s: a pool row has %d cells for %d headers: %q", name, len(tds), len(headers), tr.text())
			continue
		}
		row := map[string]string{}
		for i, td := range tds {
			row[headers[i]] = td.text()
		}
		out = append(out, row)
	}
	return out
}
