#!/usr/bin/env bash
# Stops the ActiveMQ broker that images/activemq/start.sh started from
# ACTIVEMQ_BASE (default /tmp/agentcloud-activemq): SIGTERM (the broker shuts
# down cleanly and keeps its persistent messages), SIGKILL after
# ACTIVEMQ_STOP_TIMEOUT seconds (default 30). Idempotent: nothing running is
# success. The base dir and its data stay.
set -euo pipefail

base="${ACTIVEMQ_BASE:-/tmp/agentcloud-activemq}"
timeout="${ACTIVEMQ_STOP_TIMEOUT:-30}"
pidfile="$base/activemq.pid"

say() { echo "activemq: $*" >&2; }

if [ ! -f "$pidfile" ]; then
  say "not running (no $pidfile)"
  exit 0
fi
pid="$(cat "$pidfile")"
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null || ! tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -xF -- "-Dactivemq.base=$base" >/dev/null; then
  say "not running (stale $pidfile)"
  rm -f "$pidfile"
  exit 0
fi
say "stopping pid $pid"
kill -TERM "$pid" 2>/dev/null || true
deadline=$((SECONDS + timeout))
while kill -0 "$pid" 2>/dev/null; do
  if [ $SECONDS -ge $deadline ]; then
    say "still running after ${timeout}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
rm -f "$pidfile"
say "stopped"
