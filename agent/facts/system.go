package facts

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// uptimeFacts builds Facter's system_uptime fact from /proc/uptime.
func uptimeFacts(fsys fs.FS) (map[string]any, bool) {
	fields := strings.Fields(string(readFile(fsys, "/proc/uptime")))
	if len(fields) == 0 {
		return nil, false
	}
	secs, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return nil, false
	}
	return uptimeHash(int64(secs)), true
}

// uptimeHash is Facter's uptime structure for a number of seconds.
func uptimeHash(seconds int64) map[string]any {
	hours := seconds / 3600
	days := hours / 24
	minutes := (seconds / 60) % 60
	var text string
	switch days {
	case 0:
		text = fmt.Sprintf("%d:%02d hours", hours, minutes)
	case 1:
		text = "1 day"
	default:
		text = fmt.Sprintf("%d days", days)
	}
	return map[string]any{"seconds": seconds, "hours": hours, "days": days, "uptime": text}
}

// identityFacts builds Facter's identity fact for the agent's own user.
func identityFacts() map[string]any {
	uid, gid := os.Getuid(), os.Getgid()
	id := map[string]any{"uid": uid, "gid": gid, "privileged": uid == 0}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		id["user"] = u.Username
	}
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		id["group"] = g.Name
	}
	return id
}
