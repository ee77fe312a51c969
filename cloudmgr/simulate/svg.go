package simulate

import (
	"fmt"
	"html"
	"math"
	"os"
	"strings"
	"time"
)

// Picture geometry.
const (
	svgWidth   = 1000
	svgLeft    = 60
	svgRight   = 20
	svgPanelH  = 300 // one pool's panel
	svgPlotTop = 50  // title and legend above the plot, in a panel
	svgPlotBot = 40  // x labels below it
)

// stateColors are the colours of the agent states, bottom of the stack first.
var stateColors = []struct{ name, color string }{
	{"busy", "#1f4e9c"},
	{"idle", "#7fb0e6"},
	{"booting", "#f0a030"},
	{"suspended", "#b8b8b8"},
}

// writeSVG writes the report's picture: the sweep's trade-off curve when
// there is a sweep, else the timeline of the run that recorded one.
func writeSVG(path string, rep *Report) error {
	var svg string
	if rep.Sweep != nil {
		svg = SweepSVG(rep)
	} else {
		var run *Run
		for _, r := range rep.Runs {
			if len(r.Pools) > 0 && len(r.Pools[0].Timeline) > 0 {
				run = r
				break
			}
		}
		if run == nil {
			return fmt.Errorf("writing %s: no run recorded a timeline", path)
		}
		svg = TimelineSVG(run, rep.Trace.Start)
	}
	if err := os.WriteFile(path, []byte(svg), 0o644); err != nil {
		return fmt.Errorf("writing the picture: %w", err)
	}
	return nil
}

// TimelineSVG draws, for every pool of run, the agents by state (stacked:
// busy, idle, booting, suspended) and the queue depth over time. Each pixel
// column averages the agent counts of its ticks and shows their largest queue.
func TimelineSVG(run *Run, start time.Time) string {
	var b strings.Builder
	height := svgPanelH * len(run.Pools)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgWidth, height)
	for i, p := range run.Pools {
		timelinePanel(&b, run.Name, p, start, float64(i*svgPanelH))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// bucket is one pixel column of a timeline.
type bucket struct {
	states [4]float64 // averages, in stateColors order
	queue  float64    // largest
}

// timelinePanel draws one pool's panel with its top at y0.
func timelinePanel(b *strings.Builder, runName string, p PoolResult, start time.Time, y0 float64) {
	plotW := float64(svgWidth - svgLeft - svgRight)
	top, bottom := y0+svgPlotTop, y0+svgPanelH-svgPlotBot
	samples := p.Timeline
	n := len(samples)
	nb := min(n, int(plotW))
	buckets := make([]bucket, nb)
	ymax := 1.0
	for k := range buckets {
		lo, hi := k*n/nb, (k+1)*n/nb
		var bk bucket
		for _, s := range samples[lo:hi] {
			bk.states[0] += float64(s.Busy)
			bk.states[1] += float64(s.Idle)
			bk.states[2] += float64(s.Booting)
			bk.states[3] += float64(s.Suspended)
			bk.queue = max(bk.queue, float64(s.Queued))
		}
		total := 0.0
		for i := range bk.states {
			bk.states[i] /= float64(hi - lo)
			total += bk.states[i]
		}
		buckets[k] = bk
		ymax = max(ymax, total, bk.queue)
	}
	step := niceStep(ymax, 5)
	ymax = math.Ceil(ymax/step) * step
	span := samples[n-1].At
	if span <= 0 {
		span = time.Second
	}
	x := func(k float64) float64 { return svgLeft + k*plotW/float64(nb) }
	y := func(v float64) float64 { return bottom - v*(bottom-top)/ymax }

	fmt.Fprintf(b, `<text x="%d" y="%.0f" font-size="15" font-weight="bold">pool %s: %s</text>`+"\n", svgLeft, y0+20, esc(p.Pool), esc(runName))
	legend(b, y0+38)
	// Grid and y axis.
	for v := 0.0; v <= ymax+step/2; v += step {
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e4e4e4"/>`+"\n", svgLeft, y(v), svgWidth-svgRight, y(v))
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" dy="4">%g</text>`+"\n", svgLeft-6, y(v), v)
	}
	fmt.Fprintf(b, `<text x="14" y="%.1f" transform="rotate(-90 14 %.1f)" text-anchor="middle">agents, queued jobs</text>`+"\n", (top+bottom)/2, (top+bottom)/2)
	// Stacked areas, top layer drawn first so each lower one covers it.
	for layer := len(stateColors) - 1; layer >= 0; layer-- {
		var pts []string
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(0), y(0)))
		for k, bk := range buckets {
			sum := 0.0
			for i := 0; i <= layer; i++ {
				sum += bk.states[i]
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f %.1f,%.1f", x(float64(k)), y(sum), x(float64(k+1)), y(sum)))
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(nb)), y(0)))
		fmt.Fprintf(b, `<polygon fill="%s" stroke="none" points="%s"/>`+"\n", stateColors[layer].color, strings.Join(pts, " "))
	}
	// Queue depth.
	var q []string
	for k, bk := range buckets {
		q = append(q, fmt.Sprintf("%.1f,%.1f", x(float64(k)+0.5), y(bk.queue)))
	}
	fmt.Fprintf(b, `<polyline fill="none" stroke="#d62728" stroke-width="1.2" points="%s"/>`+"\n", strings.Join(q, " "))
	// X axis.
	fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black"/>`+"\n", svgLeft, bottom, svgWidth-svgRight, bottom)
	fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black"/>`+"\n", svgLeft, top, svgLeft, bottom)
	xt := func(t time.Time) float64 { return svgLeft + float64(t.Sub(start))/float64(span)*plotW }
	for _, t := range timeTicks(start, start.Add(span)) {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", xt(t.at), bottom, xt(t.at), bottom+4)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", xt(t.at), bottom+17, esc(t.label))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">time (UTC), from %s</text>`+"\n",
		svgLeft+plotW/2, bottom+33, start.UTC().Format("2006-01-02 15:04"))
}

// legend draws the colour key at height y.
func legend(b *strings.Builder, y float64) {
	x := float64(svgLeft)
	for _, s := range stateColors {
		fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%s agents</text>`+"\n", x, y-10, s.color, x+16, y, s.name)
		x += 140
	}
	fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#d62728" stroke-width="2"/><text x="%.0f" y="%.0f">queued jobs (max per pixel)</text>`+"\n", x, y-4, x+14, y-4, x+18, y)
}

// timeTick is one labelled mark on a time axis.
type timeTick struct {
	at    time.Time
	label string
}

// timeTicks chooses marks between from and to: days, or hours for short spans.
func timeTicks(from, to time.Time) []timeTick {
	span := to.Sub(from)
	var step time.Duration
	var layout string
	switch {
	case span > 20*24*time.Hour:
		step, layout = 7*24*time.Hour, "Jan 02"
	case span > 2*24*time.Hour:
		step, layout = 24*time.Hour, "Jan 02"
	case span > 12*time.Hour:
		step, layout = 3*time.Hour, "15:04"
	case span > 2*time.Hour:
		step, layout = time.Hour, "15:04"
	default:
		step, layout = 10*time.Minute, "15:04"
	}
	var out []timeTick
	t := from.UTC().Truncate(step)
	if t.Before(from) {
		t = t.Add(step)
	}
	for ; !t.After(to); t = t.Add(step) {
		out = append(out, timeTick{t, t.Format(layout)})
	}
	return out
}

// SweepSVG draws the sweep's trade-off: p95 wait against cost, one point per
// step joined in order, and the baselines as squares. A baseline far off the
// steps' scale (over three times their largest cost or wait) is named in a
// note instead, so the curve stays readable.
func SweepSVG(rep *Report) string {
	const w, h, left, right, top, bottom = 800, 520, 80, 120, 80, 60
	type pt struct {
		label    string
		p95, c   float64
		baseline bool
	}
	var pts, off []pt
	xmax, ymax := 0.0, 0.0
	for i, r := range rep.Runs {
		if r.Kind == KindSweep {
			p := pt{rep.Sweep.Values[i-countBaselines(rep)], r.Overall.Wait.P95 / 60, r.Overall.Cost, false}
			pts = append(pts, p)
			xmax, ymax = max(xmax, p.p95), max(ymax, p.c)
		}
	}
	xlim, ylim := 3*max(xmax, 1), 3*max(ymax, 1)
	for _, r := range rep.Runs {
		if r.Kind == KindSweep {
			continue
		}
		p := pt{r.Name, r.Overall.Wait.P95 / 60, r.Overall.Cost, true}
		if p.p95 > xlim || p.c > ylim {
			off = append(off, p)
			continue
		}
		pts = append(pts, p)
		xmax, ymax = max(xmax, p.p95), max(ymax, p.c)
	}
	xmax, ymax = max(xmax, 0.5), max(ymax, 1)
	xs, ys := niceStep(xmax, 6), niceStep(ymax, 6)
	xmax, ymax = math.Ceil(xmax/xs)*xs, math.Ceil(ymax/ys)*ys
	x := func(v float64) float64 { return left + v*(w-left-right)/xmax }
	y := func(v float64) float64 { return h - bottom - v*(h-top-bottom)/ymax }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">sweep of %s: p95 wait against cost (all pools)</text>`+"\n", left, esc(rep.Sweep.Field))
	fmt.Fprintf(&b, `<circle cx="%d" cy="42" r="4" fill="#1f4e9c"/><text x="%d" y="46">sweep steps, in order, by %s</text><rect x="%d" y="38" width="8" height="8" fill="#d62728"/><text x="%d" y="46">baselines</text>`+"\n",
		left+4, left+14, esc(rep.Sweep.Field), left+300, left+314)
	if len(off) > 0 {
		var notes []string
		for _, p := range off {
			notes = append(notes, fmt.Sprintf("%s (p95 %s, %s)", p.label, fmtWait(p.p95*60), money(p.c)))
		}
		fmt.Fprintf(&b, `<text x="%d" y="64" fill="#555">off the chart: %s</text>`+"\n", left, esc(strings.Join(notes, "; ")))
	}
	for v := 0.0; v <= xmax+xs/2; v += xs {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e4e4e4"/><text x="%.1f" y="%d" text-anchor="middle">%g</text>`+"\n", x(v), top, x(v), h-bottom, x(v), h-bottom+16, v)
	}
	for v := 0.0; v <= ymax+ys/2; v += ys {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e4e4e4"/><text x="%d" y="%.1f" text-anchor="end" dy="4">$%g</text>`+"\n", left, y(v), w-right, y(v), left-6, y(v), v)
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, h-bottom, w-right, h-bottom, left, top, left, h-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">p95 job wait (minutes)</text>`+"\n", (left+w-right)/2, h-bottom+36)
	fmt.Fprintf(&b, `<text x="18" y="%d" transform="rotate(-90 18 %d)" text-anchor="middle">cost ($)</text>`+"\n", (top+h-bottom)/2, (top+h-bottom)/2)
	var line []string
	for _, p := range pts {
		if !p.baseline {
			line = append(line, fmt.Sprintf("%.1f,%.1f", x(p.p95), y(p.c)))
		}
	}
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#1f4e9c" points="%s"/>`+"\n", strings.Join(line, " "))
	for _, p := range pts {
		if p.baseline {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="8" height="8" fill="#d62728"/>`, x(p.p95)-4, y(p.c)-4)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#d62728">%s</text>`+"\n", x(p.p95)+7, y(p.c)+16, esc(p.label))
			continue
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="#1f4e9c"/>`, x(p.p95), y(p.c))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", x(p.p95)+7, y(p.c)-6, esc(p.label))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// countBaselines counts the runs before the sweep's steps.
func countBaselines(rep *Report) int {
	n := 0
	for _, r := range rep.Runs {
		if r.Kind != KindSweep {
			n++
		}
	}
	return n
}

// niceStep returns a step of 1, 2 or 5 times a power of ten that cuts
// [0, v] into about n parts.
func niceStep(v float64, n int) float64 {
	if v <= 0 {
		return 1
	}
	raw := v / float64(n)
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			return m * pow
		}
	}
	return 10 * pow
}

// esc escapes text for SVG.
func esc(s string) string { return html.EscapeString(s) }
