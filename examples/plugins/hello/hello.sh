#!/bin/sh
# Example agentcloud plugin. The agent writes one JSON object on stdin:
#   {"context":{...},"fields":{...},"task":"greet"}
# (one line, no spaces, keys in that order). This script picks its fields with sed to stay
# dependency-free; a real plugin should use a JSON parser (jq, python, Go).
set -eu
input=$(cat)

# field NAME: the value of a string field; the last match wins, and "fields"
# comes after "context" in the input, so a context key of the same name does
# not shadow it.
field() { printf '%s' "$input" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
# scalar NAME: the value of a number or boolean field.
scalar() { printf '%s' "$input" | sed -n "s/.*\"$1\":\([0-9a-z.-]*\).*/\1/p"; }

task=$(field task)
case "$task" in
greet)
	who=$(field who)
	times=$(scalar times)
	greeting="hello, $who"
	if [ "$(scalar shout)" = "true" ]; then
		greeting=$(printf '%s' "$greeting" | tr '[:lower:]' '[:upper:]')
	fi
	i=0
	while [ "$i" -lt "$times" ]; do
		echo "$greeting"
		i=$((i + 1))
	done
	# Publish context: later tasks see it (as field defaults, and whole).
	echo "::context {\"greeting\": \"$greeting\"}"
	;;
wave)
	echo "*waves at $(field at)*" >&2
	echo "::context waved=$(field at)"
	;;
*)
	echo "hello: unknown task \"$task\"" >&2
	exit 2
	;;
esac
