package facts

import (
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"strings"
)

// parseMeminfo reads /proc/meminfo into byte counts by field name.
func parseMeminfo(content string) map[string]int64 {
	m := map[string]int64{}
	for _, line := range strings.Split(content, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		if len(fields) > 1 && fields[1] == "kB" {
			n *= 1024
		}
		m[name] = n
	}
	return m
}

// memoryFacts builds Facter's memory fact (memory.system and, when there is
// swap, memory.swap) from /proc/meminfo.
func memoryFacts(fsys fs.FS) map[string]any {
	mi := parseMeminfo(string(readFile(fsys, "/proc/meminfo")))
	total, ok := mi["MemTotal"]
	if !ok || total == 0 {
		return nil
	}
	avail, ok := mi["MemAvailable"]
	if !ok {
		avail = mi["MemFree"] + mi["Buffers"] + mi["Cached"]
	}
	m := map[string]any{"system": memoryBlock(total, avail)}
	if st := mi["SwapTotal"]; st > 0 {
		m["swap"] = memoryBlock(st, mi["SwapFree"])
	}
	return m
}

func memoryBlock(total, avail int64) map[string]any {
	used := total - avail
	return map[string]any{
		"total_bytes":     total,
		"total":           humanBytes(total),
		"available_bytes": avail,
		"available":       humanBytes(avail),
		"used_bytes":      used,
		"used":            humanBytes(used),
		"capacity":        fmt.Sprintf("%.2f%%", float64(used)/float64(total)*100),
	}
}

// humanBytes formats a byte count as Facter does ("23.54 GiB", "512 bytes").
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	exp := int(math.Floor(math.Log2(float64(n)) / 10))
	v := math.Round(100*float64(n)/math.Pow(1024, float64(exp))) / 100
	if math.Abs(v-1024) < 1e-9 {
		exp++
		v = 1
	}
	if exp-1 >= len(units) {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.2f %s", v, units[exp-1])
}
