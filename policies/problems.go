package policies

import (
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a policy file or policy: where it is, which
// field, and why. It renders as "file:line: field: reason".
type Problem struct {
	// Source is "file:line" (or "file", or "pool inst/pool" for a policy built in
	// Go code with no Source).
	Source string
	// Field is the YAML field concerned ("idle_timeout", "schedule[0].cron"); empty
	// for problems about a whole entry (an unknown field, a duplicate pool).
	Field string
	// Msg is the reason, worded for the person who edits the file.
	Msg string
}

// Error renders "source: field: msg", leaving out empty parts.
func (p Problem) Error() string {
	var b strings.Builder
	if p.Source != "" {
		b.WriteString(p.Source)
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found at once. Load, Validate and LoadAndValidate
// return it as their error, sorted by file then line.
type Problems []Problem

// Error renders one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders problems by file, then line number, then text.
func sortProblems(ps Problems) {
	sort.SliceStable(ps, func(i, j int) bool {
		fi, li := splitSource(ps[i].Source)
		fj, lj := splitSource(ps[j].Source)
		if fi != fj {
			return fi < fj
		}
		if li != lj {
			return li < lj
		}
		return ps[i].Error() < ps[j].Error()
	})
}

// splitSource splits "file:line" into its file and line (0 when there is none).
func splitSource(s string) (string, int) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, 0
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return s, 0
	}
	return s[:i], n
}

// source renders "file:line".
func source(file string, line int) string {
	return file + ":" + strconv.Itoa(line)
}
