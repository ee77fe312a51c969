package policies

import (
	"strings"
	"time"
)

// fmtDur renders a duration compactly, to the second: 10m, 1h30m, 1m30s, 0s.
func fmtDur(d time.Duration) string {
	if d < time.Second && d > -time.Second {
		if d == 0 {
			return "0s"
		}
		return d.String()
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// fmtTime renders an instant for holds: RFC 3339 in UTC.
func fmtTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// plural renders "1 machine", "2 machines".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return itoa(n) + " " + noun + "s"
}
