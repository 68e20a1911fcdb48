#!/usr/bin/env bash
# Make sure a docker engine answers on this machine.
#
# Machines here start with a docker client only: install the engine from
# Debian (docker.io) when dockerd is missing, start it when `docker info`
# fails, then wait until it answers. Safe to run any number of times.
set -euo pipefail

log() { printf 'docker-ensure: %s\n' "$*" >&2; }

# Wait this long for a freshly started engine to answer.
timeout_s="${DOCKER_ENSURE_TIMEOUT:-60}"

if docker info >/dev/null 2>&1; then
	exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		log "dockerd is missing and installing it needs root"
		exit 1
	fi
	log "installing docker.io from Debian"
	export DEBIAN_FRONTEND=noninteractive
	# The package lists may be absent or stale on a fresh machine.
	apt-get update -qq
	apt-get install -y -qq docker.io >/dev/null
fi

# The Debian package may have started the engine via systemd already.
if ! docker info >/dev/null 2>&1; then
	if pgrep -x dockerd >/dev/null 2>&1; then
		log "dockerd is running but not answering yet; waiting"
	else
		if [ "$(id -u)" -ne 0 ]; then
			log "dockerd is not running and starting it needs root"
			exit 1
		fi
		log "starting dockerd (log: /var/log/dockerd.log)"
		# No init system manages services on these machines: run it detached
		# so it outlives this script. Close every inherited descriptor above
		# stderr first: a caller's lock or pipe held open by dockerd would
		# stay held (or never see EOF) for as long as dockerd runs.
		(
			for fd in /proc/self/fd/*; do
				fd="${fd##*/}"
				if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
			done
			exec nohup dockerd >/var/log/dockerd.log 2>&1 </dev/null
		) &
		disown || true
	fi
fi

deadline=$((SECONDS + timeout_s))
until docker info >/dev/null 2>&1; do
	if [ "$SECONDS" -ge "$deadline" ]; then
		log "docker did not answer within ${timeout_s}s; see /var/log/dockerd.log"
		exit 1
	fi
	sleep 1
done
log "docker is up"
