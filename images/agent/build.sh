#!/bin/sh
# Build the agent image on the Docker engine, with no registry: a static agent
# binary FROM scratch (see Dockerfile). Used by `make agent-image`.
#
#   images/agent/build.sh [tag [docker build options...]]
#
# tag defaults to $AGENT_IMAGE, else agentcloud-agent:dev. Environment:
#   GO           the go command (default go)
#   DOCKER       the docker command (default docker)
#   CA_BUNDLE    the CA certificates copied into the image
#                (default /etc/ssl/certs/ca-certificates.crt)
#   BUSYBOX      whether the image gets a shell: a static busybox as /bin/busybox,
#                with /bin/sh and its other applets as symlinks to it, so the
#                built-in shell plugin works in containers.
#                  auto (default)  when BUSYBOX_BIN is present on this host
#                  1               required: fail when it is missing or not static
#                  0               never: the agent binary alone
#   BUSYBOX_BIN  the static busybox copied in (default /bin/busybox, from
#                Debian's busybox-static package)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tag=${1:-${AGENT_IMAGE:-agentcloud-agent:dev}}
[ $# -gt 0 ] && shift
GO=${GO:-go}
DOCKER=${DOCKER:-docker}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
BUSYBOX=${BUSYBOX:-auto}
BUSYBOX_BIN=${BUSYBOX_BIN:-/bin/busybox}

if [ ! -r "$CA_BUNDLE" ]; then
	echo "build.sh: no CA bundle at $CA_BUNDLE (install ca-certificates, or set CA_BUNDLE)" >&2
	exit 1
fi

# static reports whether $1 needs no dynamic loader (a scratch image has none):
# ldd fails on a static executable. Without ldd it cannot tell, and trusts it.
static() {
	command -v ldd >/dev/null 2>&1 || return 0
	! ldd "$1" >/dev/null 2>&1
}

# Whether the image gets busybox (see BUSYBOX above).
case $BUSYBOX in
1 | yes | true)
	if [ ! -x "$BUSYBOX_BIN" ]; then
		echo "build.sh: BUSYBOX=1 but there is no busybox at $BUSYBOX_BIN (apt-get install busybox-static, or set BUSYBOX_BIN)" >&2
		exit 1
	fi
	if ! static "$BUSYBOX_BIN"; then
		echo "build.sh: BUSYBOX=1 but $BUSYBOX_BIN is dynamically linked and cannot run FROM scratch (apt-get install busybox-static, which replaces Debian's busybox)" >&2
		exit 1
	fi
	with_busybox=1
	;;
auto | "")
	with_busybox=0
	if [ -x "$BUSYBOX_BIN" ]; then
		if static "$BUSYBOX_BIN"; then
			with_busybox=1
		else
			echo "build.sh: $BUSYBOX_BIN is dynamically linked: building without a shell (install busybox-static for one)" >&2
		fi
	fi
	;;
0 | no | false)
	with_busybox=0
	;;
*)
	echo "build.sh: BUSYBOX=$BUSYBOX: want auto, 1 or 0" >&2
	exit 1
	;;
esac

ctx=$(mktemp -d "${TMPDIR:-/tmp}/agent-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT INT TERM

# The context: only what the image needs.
(cd "$root" && CGO_ENABLED=0 "$GO" build -ldflags='-s -w' -o "$ctx/agent" ./cmd/agent)
cp "$here/Dockerfile" "$ctx/Dockerfile"
cp -R "$here/rootfs" "$ctx/rootfs"
mkdir -p "$ctx/rootfs/tmp" "$ctx/work"
chmod 1777 "$ctx/rootfs/tmp"
chmod 0755 "$ctx/work" "$ctx/agent"
cp "$CA_BUNDLE" "$ctx/ca-certificates.crt"

# The optional shell: busybox and one symlink per applet, staged in the rootfs
# (FROM scratch, nothing can run `busybox --install` at build time; COPY keeps
# the symlinks). The host runs the same static binary to list its applets.
if [ "$with_busybox" = 1 ]; then
	mkdir -p "$ctx/rootfs/bin"
	cp "$BUSYBOX_BIN" "$ctx/rootfs/bin/busybox"
	chmod 0755 "$ctx/rootfs/bin/busybox"
	n=0
	for applet in $("$ctx/rootfs/bin/busybox" --list-full); do
		case $applet in
		bin/busybox | */ | "") continue ;;
		*/*) ;;
		*) continue ;; # linuxrc and the like: not a command
		esac
		mkdir -p "$ctx/rootfs/$(dirname "$applet")"
		if [ ! -e "$ctx/rootfs/$applet" ]; then
			ln -s /bin/busybox "$ctx/rootfs/$applet"
			n=$((n + 1))
		fi
	done
	[ -L "$ctx/rootfs/bin/sh" ] || ln -s /bin/busybox "$ctx/rootfs/bin/sh"
	echo "agentcloud_shell=busybox" >"$ctx/rootfs/etc/agentcloud/facts.d/shell.txt"
	echo "build.sh: with a shell: $BUSYBOX_BIN as /bin/busybox, /bin/sh and $n applets linked to it" >&2
else
	echo "build.sh: without a shell (the agent binary alone; BUSYBOX=1 to require one)" >&2
fi

# The classic builder: no BuildKit, no pulls (FROM scratch needs none).
DOCKER_BUILDKIT=0 "$DOCKER" build --pull=false --label org.opencontainers.image.title=agentcloud-agent \
	-t "$tag" "$@" "$ctx"
echo "built $tag"
