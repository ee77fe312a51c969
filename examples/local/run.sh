#!/usr/bin/env bash
# run.sh: the whole agentcloud loop on this machine (`make run`).
#
# Starts the master with its embedded broker, cloudmgr with the local provider
# and the policy in policies/demo.yaml, and a sample load: two bursts of
# compositions (compositions/build.yaml). It prints what happens as it
# happens: agents created, registered, drained, suspended, resumed and
# destroyed, with cloudmgr's reasons, and every job's start, cache use and end.
#
#   ./examples/local/run.sh [-duration SECONDS]    (or DEMO_DURATION=SECONDS)
#
# Runs until Ctrl-C, or for -duration seconds. On exit it stops cloudmgr,
# destroys every agent (`cloudmgr teardown`: local agents run in their own
# process groups and would outlive cloudmgr), then stops the master. State
# and logs stay in ./var/demo until the next run.
#
# Knobs (environment): DEMO_DURATION, DEMO_BURST1 (default 8 jobs at t=3s),
# DEMO_BURST2 (4 jobs at t=45s), DEMO_BURST2_AT (45), DEMO_JOB_SECONDS (5).
set -euo pipefail

usage() {
	sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

duration=${DEMO_DURATION:-0}
while [ $# -gt 0 ]; do
	case $1 in
	-duration | --duration)
		[ $# -ge 2 ] || { echo "run.sh: $1 needs a number of seconds" >&2; exit 2; }
		duration=$2
		shift 2
		;;
	-duration=* | --duration=*) duration=${1#*=}; shift ;;
	-h | -help | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
done
for v in duration DEMO_BURST1 DEMO_BURST2 DEMO_BURST2_AT DEMO_JOB_SECONDS; do
	val=${!v:-0}
	[[ $val =~ ^[0-9]+$ ]] || { echo "run.sh: $v must be a whole number of seconds or jobs, got '$val'" >&2; exit 2; }
done
burst1=${DEMO_BURST1:-8} burst2=${DEMO_BURST2:-4} burst2_at=${DEMO_BURST2_AT:-45} job_seconds=${DEMO_JOB_SECONDS:-5}

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
here=examples/local
run=var/demo
config=$here/cloudmgr.yaml
# These must match cloudmgr.yaml.
master_addr=127.0.0.1:18080 broker_addr=127.0.0.1:16613 cloudmgr_addr=127.0.0.1:19090

for b in cloudmgr master agent; do
	[ -x "bin/$b" ] || { echo "run.sh: bin/$b is missing: run 'make build' first (or use 'make run')" >&2; exit 1; }
done
# The demo's settings come from this script only.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^AGENTCLOUD_' || true)

port_busy() { (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; }
for a in "$master_addr" "$broker_addr" "$cloudmgr_addr"; do
	if port_busy "$a"; then
		echo "run.sh: $a is in use (another demo still running?); the demo needs it (see $config)" >&2
		exit 1
	fi
done

# Leftovers of a run that was killed hard: destroy its agents, then start clean.
if [ -d "$run/instances" ] && [ -n "$(ls -A "$run/instances" 2>/dev/null)" ]; then
	echo "run.sh: destroying the agents a previous run left behind"
	DEMO_MASTER_TOKEN=unused DEMO_AGENT_TOKEN=unused bin/cloudmgr teardown -config "$config" -timeout 1m
fi
rm -rf "$run"
mkdir -p "$run"

# Tokens: generated per run, kept in the run dir, passed by environment.
token() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
(umask 077; token > "$run/master.token"; token > "$run/agent.token")
DEMO_MASTER_TOKEN=$(cat "$run/master.token")
DEMO_AGENT_TOKEN=$(cat "$run/agent.token")
export DEMO_MASTER_TOKEN DEMO_AGENT_TOKEN

# now prints the time of day as HH:MM:SS.ffffff, as the logs have it.
now() { local e=$EPOCHREALTIME; printf '%(%H:%M:%S)T.%s' "${e%.*}" "${e#*.}"; }
IFS=: read -r h m s <<<"$(now)"
start_tod=$(awk -v h="$h" -v m="$m" -v s="$s" 'BEGIN { printf "%.6f", h * 3600 + m * 60 + s }')
start_s=${EPOCHREALTIME%.*}

# say writes one line of the load log (the stream shows it): say WHO TEXT [key=value...].
say() {
	local who=$1 text=$2
	shift 2
	text=${text//\\/\\\\}
	printf 'time=%s who=%s %s msg="%s"\n' "$(now)" "$who" "$*" "${text//\"/\\\"}" >>"$run/load.log"
}

color=0
[ -t 1 ] && color=1
cat <<EOF
agentcloud demo: master + embedded broker + cloudmgr + local agents, state in ./$run
  cloudmgr status page  http://$cloudmgr_addr/   (JSON: /api/v1/status, metrics: /metrics)
  master API            http://$master_addr/api/v1/pools   (bearer token in $run/master.token)
  broker                stomp://$broker_addr   (pool events on /topic/demo.events)
  policy                $here/policies/demo.yaml: 0..5 agents, idle_timeout 15s, suspended_ttl 40s
  load                  $burst1 jobs at +3s, $burst2 jobs at +${burst2_at}s (each: read/fill a cache in its agent's work dir, ${job_seconds}s of work)
  submit more work      AGENTCLOUD_MASTER_URL=http://$master_addr AGENTCLOUD_MASTER_TOKEN=\$(cat $run/master.token) \\
                          ./bin/master submit -f $here/compositions/build.yaml -follow
  logs                  $run/{master,cloudmgr,load}.log, agents: $run/instances/<name>/agent.log
$( [ "$duration" -gt 0 ] && echo "  stops after ${duration}s, or on Ctrl-C" || echo "  Ctrl-C stops everything" )

EOF

touch "$run/master.log" "$run/cloudmgr.log" "$run/load.log"
master_pid= cloudmgr_pid= load_pid= tail_pid= fmt_pid= stopping=0 status=0 interrupted=0

# agent_pids lists the live processes running bin/agent.
agent_pids() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		[ "${exe% (deleted)}" = "$root/bin/agent" ] || continue
		grep -q '^State:[[:space:]]*Z' "$p/status" 2>/dev/null && continue
		echo "${p#/proc/}"
	done
}

# stop stops everything in order: the load, cloudmgr (no new machines), every
# agent (teardown), the master; then it checks that nothing is left.
stop() {
	[ "$stopping" = 1 ] && return
	stopping=1
	set +e
	trap '' INT TERM
	say demo "stopping: the load, cloudmgr, then every agent (cloudmgr teardown), then the master"
	[ -n "$load_pid" ] && kill -TERM -- "-$load_pid" 2>/dev/null
	[ -n "$cloudmgr_pid" ] && kill -TERM "$cloudmgr_pid" 2>/dev/null
	wait $load_pid $cloudmgr_pid 2>/dev/null
	bin/cloudmgr teardown -config "$config" -timeout 1m -log-level warn >"$run/teardown.log" 2>&1 || status=1
	while IFS= read -r line; do say teardown "${line#teardown: }"; done <"$run/teardown.log"
	[ -n "$master_pid" ] && kill -TERM "$master_pid" 2>/dev/null && wait "$master_pid" 2>/dev/null
	local left dirs
	left=$(agent_pids | tr '\n' ' ')
	dirs=$(ls -A "$run/instances" 2>/dev/null | tr '\n' ' ')
	if [ -z "$left" ] && [ -z "$dirs" ]; then
		say demo "stopped: no agent process and no instance dir left; logs stay in $run"
	else
		say demo "LEFT BEHIND: agent pids [${left% }], instance dirs [${dirs% }]"
		status=1
	fi
	if [ -n "$tail_pid" ]; then
		sleep 0.5 # let tail read the last lines
		kill "$tail_pid" 2>/dev/null
		wait "$fmt_pid" 2>/dev/null
	fi
	rm -f "$run/stream.fifo"
}
trap 'stop; exit $status' EXIT
trap 'interrupted=1' INT TERM

mkfifo "$run/stream.fifo"
awk -v start="$start_tod" -v color="$color" -f "$here/logfmt.awk" <"$run/stream.fifo" &
fmt_pid=$!
tail -n +1 -F "$run/master.log" "$run/cloudmgr.log" "$run/load.log" >"$run/stream.fifo" 2>/dev/null &
tail_pid=$!

# The master, cloudmgr and the load run in sessions of their own, so a Ctrl-C
# reaches only this script, which stops them in order.
AGENTCLOUD_MASTER_TOKENS=$DEMO_MASTER_TOKEN AGENTCLOUD_TOKEN=$DEMO_AGENT_TOKEN \
	setsid bin/master serve -listen "$master_addr" -broker-listen "$broker_addr" \
	-data-dir "$run/master" -prefix demo >>"$run/master.log" 2>&1 &
master_pid=$!
for _ in $(seq 100); do port_busy "$master_addr" && break; sleep 0.1; done
setsid bin/cloudmgr run -config "$config" >>"$run/cloudmgr.log" 2>&1 &
cloudmgr_pid=$!

# submit JOB: one composition, followed to its end; its output goes to the stream.
submit() {
	local n=$1 line id=
	sed -e "s/JOB: \"by-hand\"/JOB: \"$n\"/" -e "s/WORK: \"4\"/WORK: \"$job_seconds\"/" "$here/compositions/build.yaml" |
		AGENTCLOUD_MASTER_URL=http://$master_addr AGENTCLOUD_MASTER_TOKEN=$DEMO_MASTER_TOKEN \
			bin/master submit -f - -follow 2>&1 |
		while IFS= read -r line; do
			case $line in
			"submitted "*) id=${line#submitted }; id=${id%% *}; say job "submitted ($id)" "job=$n composition=$id" ;;
			"composition "*" succeeded" | "master submit: stopped following"*) ;; # the master's lines say it
			"job $n "*) say job "${line#job "$n" }" "job=$n" ;;
			*) say job "$line" "job=$n" ;;
			esac
		done
}

# load runs the two bursts, then waits for their jobs.
load() {
	local n=0 i
	sleep 3
	say load "burst 1: $burst1 jobs on an empty pool: cloudmgr scales up from zero"
	for ((i = 0; i < burst1; i++)); do n=$((n + 1)); submit $n & done
	sleep $((burst2_at > 3 ? burst2_at - 3 : 0))
	say load "burst 2: $burst2 jobs while the agents are suspended: cloudmgr resumes them (caches kept) before creating any"
	for ((i = 0; i < burst2; i++)); do n=$((n + 1)); submit $n & done
	wait
	say load "all jobs done: idle agents are drained and suspended after idle_timeout, destroyed after suspended_ttl"
}
# (The token reaches it by the environment: never on a command line, where ps shows it.)
setsid bash -c "set -u; $(declare -p run here master_addr job_seconds burst1 burst2 burst2_at); $(declare -f now say submit load); load" &
load_pid=$!

while [ "$interrupted" = 0 ]; do
	if ! kill -0 "$master_pid" 2>/dev/null; then say demo "the master exited: stopping (see $run/master.log)"; status=1; break; fi
	if ! kill -0 "$cloudmgr_pid" 2>/dev/null; then say demo "cloudmgr exited: stopping (see $run/cloudmgr.log)"; status=1; break; fi
	if [ "$duration" -gt 0 ] && [ $((${EPOCHREALTIME%.*} - start_s)) -ge "$duration" ]; then
		say demo "${duration}s are up"
		break
	fi
	sleep 1 &
	wait $! || true
done
if [ "$interrupted" = 1 ]; then say demo "interrupted"; fi
