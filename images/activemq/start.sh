#!/usr/bin/env bash
# Starts an ActiveMQ 5.17 broker for agentcloud (DESIGN.md §5, docs/activemq.md)
# in the background and prints its STOMP URL on stdout (progress goes to
# stderr). Idempotent: a broker already running from the same base dir is
# left alone and its URL printed again.
#
#   images/activemq/start.sh                       # stomp://127.0.0.1:61613
#   export AGENTCLOUD_ACTIVEMQ_URL=$(images/activemq/start.sh)
#
# Environment (all optional):
#   ACTIVEMQ_BASE           base dir with conf/, data/, lib/, activemq.log and
#                           activemq.pid (default /tmp/agentcloud-activemq);
#                           data/ survives restarts, so queued persistent
#                           messages do too
#   ACTIVEMQ_STOMP_HOST     STOMP listen address (default 127.0.0.1)
#   ACTIVEMQ_STOMP_PORT     STOMP port (default 61613)
#   ACTIVEMQ_LOGIN          the broker's one user (default agentcloud)
#   ACTIVEMQ_PASSCODE       its password (default agentcloud; for tests only)
#   ACTIVEMQ_START_TIMEOUT  seconds to wait for STOMP to answer (default 90)
#   ACTIVEMQ_JAVA_OPTS      JVM options (default -Xms64m -Xmx512m -XX:+UseSerialGC)
#   ACTIVEMQ_INSTALL        0: never apt-get install the packages; fail instead
#
# Needs the Debian packages activemq, libxstream-java, libjettison-java and
# libxpp3-java; when they are missing and this runs as root with apt-get, it
# installs them. The xstream, jettison and xpp3 jars are linked into
# <base>/lib, which the broker adds to its classpath: the statistics plugin's
# JSON and XML replies need them.
set -euo pipefail
# A probe writing to a connection the broker just reset must fail, not kill
# the script.
trap '' PIPE

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
base="${ACTIVEMQ_BASE:-/tmp/agentcloud-activemq}"
host="${ACTIVEMQ_STOMP_HOST:-127.0.0.1}"
port="${ACTIVEMQ_STOMP_PORT:-61613}"
login="${ACTIVEMQ_LOGIN:-agentcloud}"
passcode="${ACTIVEMQ_PASSCODE:-agentcloud}"
timeout="${ACTIVEMQ_START_TIMEOUT:-90}"
java_opts="${ACTIVEMQ_JAVA_OPTS:--Xms64m -Xmx512m -XX:+UseSerialGC}"
home=/usr/share/activemq
jar="$home/bin/activemq.jar"
url="stomp://$host:$port"

say() { echo "activemq: $*" >&2; }
die() { say "$*"; exit 1; }

# stomp_answers sends a STOMP CONNECT and succeeds when CONNECTED comes back.
stomp_answers() {
  local reply=""
  { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || return 1
  printf 'CONNECT\naccept-version:1.1,1.2\nhost:localhost\nlogin:%s\npasscode:%s\nheart-beat:0,0\n\n\0' "$login" "$passcode" >&3 || { exec 3<&-; return 1; }
  IFS= read -r -t 5 reply <&3 2>/dev/null || true
  printf 'DISCONNECT\n\n\0' >&3 2>/dev/null || true
  exec 3<&- 3>&-
  [ "${reply%$'\r'}" = CONNECTED ]
}

# running succeeds when the pid file names a live broker of this base dir.
running() {
  local pid
  [ -f "$base/activemq.pid" ] || return 1
  pid="$(cat "$base/activemq.pid")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -xF -- "-Dactivemq.base=$base" >/dev/null
}

install_packages() {
  local need=()
  [ -f "$jar" ] || need+=(activemq)
  [ -f /usr/share/java/xstream.jar ] || need+=(libxstream-java)
  [ -f /usr/share/java/jettison.jar ] || need+=(libjettison-java)
  [ -f /usr/share/java/xpp3.jar ] || need+=(libxpp3-java)
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "${ACTIVEMQ_INSTALL:-1}" = 0 ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    die "missing Debian packages: ${need[*]} (install them as root: apt-get install ${need[*]})"
  fi
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } ||
    die "apt-get install ${need[*]} failed"
}

if running; then
  if stomp_answers; then
    say "already running (pid $(cat "$base/activemq.pid"), base $base)"
    echo "$url"
    exit 0
  fi
  say "a broker of $base runs (pid $(cat "$base/activemq.pid")) but STOMP does not answer yet; waiting"
else
  if stomp_answers; then
    die "$host:$port already answers STOMP but not from a broker of $base (another broker? set ACTIVEMQ_STOMP_PORT or ACTIVEMQ_BASE)"
  fi
  install_packages
  command -v java >/dev/null 2>&1 || die "java not found (the activemq package depends on a JRE)"
  mkdir -p "$base/conf" "$base/data" "$base/lib"
  cp "$here/activemq.xml" "$here/log4j.properties" "$base/conf/"
  cat > "$base/conf/agentcloud.properties" <<PROPS
# Written by images/activemq/start.sh; read by activemq.xml.
agentcloud.stomp.host=$host
agentcloud.stomp.port=$port
agentcloud.login=$login
agentcloud.passcode=$passcode
PROPS
  chmod 600 "$base/conf/agentcloud.properties"
  for j in xstream jettison xpp3; do ln -sf "/usr/share/java/$j.jar" "$base/lib/$j.jar"; done
  say "starting ActiveMQ on $url (base $base, log $base/activemq.log)"
  # shellcheck disable=SC2086 # java_opts is a list of options
  (cd "$base" && exec setsid java $java_opts -Djava.awt.headless=true \
    -Dactivemq.base="$base" -Dactivemq.home="$home" -Dactivemq.conf="$base/conf" -Dactivemq.data="$base/data" \
    -jar "$jar" start "xbean:file:$base/conf/activemq.xml" </dev/null >"$base/console.log" 2>&1) &
  echo $! > "$base/activemq.pid"
fi

deadline=$((SECONDS + timeout))
until stomp_answers; do
  # Only whether it lives: right after the fork, /proc/<pid>/cmdline may
  # still be the shell's.
  if ! kill -0 "$(cat "$base/activemq.pid")" 2>/dev/null; then
    tail -n 30 "$base/console.log" "$base/activemq.log" >&2 2>/dev/null || true
    rm -f "$base/activemq.pid"
    die "the broker exited during start-up (see $base/activemq.log and $base/console.log)"
  fi
  [ $SECONDS -lt $deadline ] || die "STOMP on $host:$port did not answer within ${timeout}s (see $base/activemq.log)"
  sleep 0.5
done
say "up: $url (pid $(cat "$base/activemq.pid"))"
echo "$url"
