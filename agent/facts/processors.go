package facts

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// processorFacts builds Facter's processors fact from /proc/cpuinfo: count
// (logical processors), models (one entry per processor), physicalcount and,
// when cpuinfo gives them, cores (per socket), threads (per core) and speed.
func processorFacts(fsys fs.FS) map[string]any {
	return parseCPUInfo(string(readFile(fsys, "/proc/cpuinfo")))
}

func parseCPUInfo(content string) map[string]any {
	count := 0
	models := []any{}
	physical := map[string]bool{}
	mhz := 0.0
	coresPerSocket, siblings := 0, 0
	for _, line := range strings.Split(content, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			count++
		case "model name", "cpu":
			models = append(models, v)
		case "physical id":
			physical[v] = true
		case "cpu cores":
			if coresPerSocket == 0 {
				coresPerSocket, _ = strconv.Atoi(v)
			}
		case "siblings":
			if siblings == 0 {
				siblings, _ = strconv.Atoi(v)
			}
		case "cpu MHz":
			if mhz == 0 {
				mhz, _ = strconv.ParseFloat(v, 64)
			}
		}
	}
	if count == 0 {
		return nil
	}
	p := map[string]any{"count": count, "models": models}
	if len(physical) > 0 {
		p["physicalcount"] = len(physical)
	}
	if coresPerSocket > 0 {
		p["cores"] = coresPerSocket
		if siblings >= coresPerSocket {
			p["threads"] = siblings / coresPerSocket
		}
	}
	if mhz > 0 {
		p["speed"] = hertz(mhz * 1e6)
	}
	return p
}

// hertz formats a frequency as Facter does ("2.60 GHz").
func hertz(hz float64) string {
	units := []struct {
		div  float64
		name string
	}{{1e12, "THz"}, {1e9, "GHz"}, {1e6, "MHz"}, {1e3, "kHz"}}
	for _, u := range units {
		if hz >= u.div {
			return fmt.Sprintf("%.2f %s", hz/u.div, u.name)
		}
	}
	return fmt.Sprintf("%.2f Hz", hz)
}
