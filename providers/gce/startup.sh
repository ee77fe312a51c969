#!/bin/sh
# agentcloud GCE startup script: the provider sets it as the instance's
# startup-script metadata. It writes the agent's configuration from the
# agentcloud-env metadata key to an environment file and (re)starts the agent:
# through the agentcloud-agent systemd unit when the image has it (see
# images/gce), else by starting the agent binary in the background.
# Every path can be overridden from the environment, for tests.
set -eu

md="${AGENTCLOUD_METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}"
env_file="${AGENTCLOUD_ENV_FILE:-/etc/agentcloud/agent.env}"
unit="${AGENTCLOUD_UNIT:-agentcloud-agent.service}"
agent="${AGENTCLOUD_AGENT_BIN:-/usr/local/bin/agent}"
log="${AGENTCLOUD_AGENT_LOG:-/var/log/agentcloud-agent.log}"

fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsS --retry 5 --retry-connrefused -H 'Metadata-Flavor: Google' "$md/instance/attributes/$1"
	else
		wget -q -O - --header='Metadata-Flavor: Google' "$md/instance/attributes/$1"
	fi
}

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
changed=0
# A machine recreated from a kept disk may come without the key: keep the
# file it already has then.
if fetch agentcloud-env >"$tmp"; then
	if ! [ -f "$env_file" ] || ! cmp -s "$tmp" "$env_file"; then
		mkdir -p "$(dirname "$env_file")"
		chmod 0600 "$tmp"
		mv "$tmp" "$env_file"
		changed=1
		echo "agentcloud: wrote $env_file"
	fi
elif [ ! -f "$env_file" ]; then
	echo "agentcloud: no agentcloud-env metadata and no $env_file; the agent has no configuration" >&2
	exit 1
fi

if command -v systemctl >/dev/null 2>&1 && systemctl cat "$unit" >/dev/null 2>&1; then
	if [ "$changed" = 0 ] && systemctl is-active --quiet "$unit"; then
		echo "agentcloud: $unit runs with the current configuration"
		exit 0
	fi
	systemctl restart "$unit"
	echo "agentcloud: restarted $unit"
	exit 0
fi
(
	set -a
	. "$env_file"
	set +a
	exec setsid "$agent" >>"$log" 2>&1 </dev/null
) &
echo "agentcloud: started $agent"
