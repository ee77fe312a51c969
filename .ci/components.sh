#!/usr/bin/env bash
# Installs the real components the tests run against (DESIGN.md §5) when they are
# missing, from Debian's packages. Idempotent and quick when everything is
# present. Needs root and apt-get; otherwise it prints what is missing and the
# tests that need it skip (or fail under AGENTCLOUD_REQUIRE_COMPONENTS=1, as in CI).
set -euo pipefail

# command or file the tests need -> the Debian package that provides it
components=(
  "activemq:activemq"                # the external-broker tests (they start private brokers, or use .ci/run's)
  "/usr/share/java/xstream.jar:libxstream-java"     # ActiveMQ's statistics plugin answers in JSON/XML
  "/usr/share/java/jettison.jar:libjettison-java"
  "/usr/share/java/xpp3.jar:libxpp3-java"
  "promtool:prometheus"              # alert rule tests, metrics checks
  "facter:facter"                    # fact names and facts.d compared with the real Facter
  "packer:packer"                    # packer validate of the EC2 and GCE image templates
  "systemd-analyze:systemd"          # the agent's systemd unit is verified
  "curl:curl"                        # the EC2 user-data script runs against a fake metadata service
  "busybox:busybox-static"           # a static /bin/busybox: the agent image's shell (Docker whole-cycle test)
  "chromium:chromium"                # the status page rendered in a real browser
)

need=()
for c in "${components[@]}"; do
  what=${c%%:*} pkg=${c#*:}
  if [[ $what == /* ]]; then
    [ -e "$what" ] || need+=("$pkg")
  else
    command -v "$what" >/dev/null 2>&1 || need+=("$pkg")
  fi
done

if [ ${#need[@]} -eq 0 ]; then
  echo "components: all present"
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "components: missing Debian packages: ${need[*]} (install them as root with apt-get; tests that need them will skip)" >&2
  exit 0
fi

echo "components: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The prometheus package may start a server on :9090 (cloudmgr's default port)
# where an init system runs; the tests only need promtool.
if command -v service >/dev/null 2>&1; then service prometheus stop >/dev/null 2>&1 || true; fi
pkill -x prometheus >/dev/null 2>&1 || true
echo "components: installed ${need[*]}"
