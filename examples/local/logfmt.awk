# logfmt.awk: turns the demo's logs into one stream a person can follow.
#
# Input: `tail -F master.log cloudmgr.log load.log` (with tail's "==> file <=="
# headers, which say where the following lines come from). master and
# cloudmgr log slog text lines (time=... level=... msg=... key=value ...);
# run.sh writes load.log lines in the same form.
# Output: "HH:MM:SS  +SSS.Ss  source    what happened".
# Variables: start (run.sh's start, seconds since midnight), color (1: ANSI colours).
# Plain POSIX awk (mawk and gawk).

BEGIN {
	src = "?"
	if (color) {
		c_create = "\033[32m"; c_resume = "\033[36m"; c_drain = "\033[33m"; c_suspend = "\033[33m"
		c_destroy = "\033[35m"; c_err = "\033[1;31m"; c_dim = "\033[2m"; c_job = "\033[34m"; c_off = "\033[0m"
	}
}

# tail's headers name the file the next lines come from.
/^==> .* <==$/ {
	src = $2
	sub(/.*\//, "", src)
	sub(/\.log$/, "", src)
	next
}
/^$/ { next }

{
	line = " " $0
	t = kv(line, "time")
	level = kv(line, "level")
	msg = kv(line, "msg")
	if (src == "master") master(line)
	else if (src == "cloudmgr") cloudmgr(line)
	else if (src == "load") load(line)
	else out(src, $0, "")
}

# kv returns the value of key in a slog text line (with a leading space),
# unquoting a quoted value; "" when absent.
function kv(s, key,    i, v, c, r, esc) {
	i = index(s, " " key "=")
	if (i == 0) return ""
	v = substr(s, i + length(key) + 2)
	if (substr(v, 1, 1) != "\"") {
		i = index(v, " ")
		return i ? substr(v, 1, i - 1) : v
	}
	r = ""; esc = 0
	for (i = 2; i <= length(v); i++) {
		c = substr(v, i, 1)
		if (esc) { r = r (c == "n" ? " " : c); esc = 0; continue }
		if (c == "\\") { esc = 1; continue }
		if (c == "\"") break
		r = r c
	}
	return r
}

# clock turns a slog time (2006-01-02T15:04:05.000Z07:00, or run.sh's
# HH:MM:SS.ffffff) into seconds since midnight, local time as logged.
function clock(ts,    i, hms, parts) {
	i = index(ts, "T")
	if (i) ts = substr(ts, i + 1)
	hms = substr(ts, 1, 8)
	if (split(hms, parts, ":") != 3) return -1
	i = 9
	while (substr(ts, i, 1) ~ /[.0-9]/ && i <= length(ts)) i++
	return parts[1] * 3600 + parts[2] * 60 + parts[3] + ("0" substr(ts, 9, i - 9))
}

# out prints one stream line.
function out(who, text, col,    s, rel, hms) {
	s = clock(t)
	if (s < 0) { hms = "--:--:--"; rel = "" }
	else {
		hms = sprintf("%02d:%02d:%02d", int(s / 3600), int(s % 3600 / 60), int(s % 60))
		rel = s - start
		if (rel < -43200) rel += 86400
		rel = sprintf("%+7.1fs", rel)
	}
	printf "%s %s  %s%-9s %s%s\n", hms, rel, col, who, text, (col != "" ? c_off : "")
	fflush()
}

function problem(who, line,    e) {
	e = kv(line, "error"); if (e == "") e = kv(line, "err")
	out(who, level " " msg (e != "" ? ": " e : ""), c_err)
}

function master(line,    c, a, st) {
	c = kv(line, "composition"); a = kv(line, "agent")
	if (msg == "master started")
		out("master", "up: API http://" kv(line, "listen") ", embedded broker " kv(line, "broker") ", prefix " kv(line, "prefix"), "")
	else if (msg == "composition running")
		out("master", "running   " job(c) " on " a, c_dim)
	else if (msg == "composition finished") {
		st = kv(line, "state")
		out("master", "finished  " job(c) " on " a ": " st (kv(line, "error") != "" ? " (" kv(line, "error") ")" : ""), st == "succeeded" ? "" : c_err)
	}
	else if (msg == "composition back in the queue")
		out("master", "requeued  " job(c) ": " kv(line, "reason"), c_drain)
	else if (msg == "agent registered")
		out("master", "agent " a " registered (pool " kv(line, "pool") ")", "")
	else if (msg == "agent left")
		out("master", "agent " a " left", c_dim)
	else if (msg == "shutting down" || msg == "master stopped")
		out("master", msg, "")
	else if (level == "WARN" || level == "ERROR")
		problem("master", line)
}

function cloudmgr(line,    k, r) {
	if (msg == "action") {
		k = kv(line, "kind"); r = kv(line, "reason")
		# One plan acts on several agents for one reason: say it once.
		if (k == last_kind && r == last_reason) r = "  (same reason)"
		else { last_kind = k; last_reason = r }
		out("cloudmgr", sprintf("%-8s %-14s %s", toupper(k), kv(line, "instance"), r), colour(k))
		return
	}
	last_kind = ""
	if (msg == "action failed")
		out("cloudmgr", sprintf("%-8s %-14s FAILED: %s", toupper(kv(line, "kind")), kv(line, "instance"), kv(line, "error")), c_err)
	else if (msg == "cloudmgr started")
		out("cloudmgr", "up: status page http://" kv(line, "listen") "/ (owner " kv(line, "id") ")", "")
	else if (msg == "subscribed to pool events")
		out("cloudmgr", "subscribed to " kv(line, "topic") " on " kv(line, "broker") ": reacts to pool changes at once (poll is the fallback)", "")
	else if (msg == "policies loaded" || msg == "cloudmgr stopped")
		out("cloudmgr", msg, "")
	else if (level == "WARN" || level == "ERROR")
		problem("cloudmgr", line)
}

function colour(kind) {
	if (kind == "create") return c_create
	if (kind == "resume") return c_resume
	if (kind == "drain") return c_drain
	if (kind == "suspend") return c_suspend
	if (kind == "destroy") return c_destroy
	return ""
}

# load lines: msg is the text; job=N and composition=ID tie a job to its id.
function load(line,    c, j) {
	c = kv(line, "composition"); j = kv(line, "job")
	if (c != "" && j != "") jobs[c] = j
	if (msg == "") return
	if (j != "") out("job " j, msg, c_job)
	else out(kv(line, "who") != "" ? kv(line, "who") : "demo", msg, "")
}

# job names a composition by its job number when the load generator said it.
function job(c) {
	return (c in jobs) ? "job " jobs[c] " (" c ")" : c
}
