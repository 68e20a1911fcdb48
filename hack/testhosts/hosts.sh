#!/usr/bin/env bash
# Test hosts for Slipway: Debian machines (systemd + sshd) as docker
# containers on one bridge network, reachable over SSH with a generated key.
#
# Usage:
#   hosts.sh up N     ensure hosts 1..N of the set run and accept our key;
#                     write the inventory JSON (idempotent)
#   hosts.sh down     remove the set's containers, volumes and inventory; the
#                     network too once no container is left on it
#   hosts.sh down-all remove the hosts of every set (CI's clean-up)
#   hosts.sh status   print the set's inventory JSON
#   hosts.sh image    build the host image unless present; print its name
#
# Environment:
#   SLIPWAY_HOSTS_SET   set name (default demo); containers slipway-<set>-<i>
#   SLIPWAY_STATE_DIR   key and inventory folder (default <repo>/.slipway)
#   SLIPWAY_HOSTS_FILE  inventory (default <state dir>/hosts.json for the
#                       demo set, <state dir>/hosts-<set>.json otherwise)
#   SLIPWAY_HOSTS_TIMEOUT  seconds to wait for each host's sshd (default 90)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

set_name="${SLIPWAY_HOSTS_SET:-demo}"
state_dir="${SLIPWAY_STATE_DIR:-$repo/.slipway}"
if [ "$set_name" = demo ]; then
	hosts_file="${SLIPWAY_HOSTS_FILE:-$state_dir/hosts.json}"
else
	hosts_file="${SLIPWAY_HOSTS_FILE:-$state_dir/hosts-$set_name.json}"
fi
timeout_s="${SLIPWAY_HOSTS_TIMEOUT:-90}"

# Fixed networks: they must not overlap the cluster's default pod and service
# ranges (10.42.0.0/16, 10.43.0.0/16). slipway-inner (10.91.0.0/24) is
# reserved for the bastion case: a target reachable only through a bastion.
network="slipway-hosts"
subnet="10.90.0.0/24"
inner_network="slipway-inner"

label="slipway.set=$set_name"
max_hosts=32

log() { printf 'testhosts[%s]: %s\n' "$set_name" "$*" >&2; }
die() {
	log "$*"
	exit 1
}

case "$set_name" in
"" | -* | *[!a-z0-9-]*) die "SLIPWAY_HOSTS_SET must be lowercase letters, digits and dashes" ;;
esac

host_name() { printf 'slipway-%s-%s' "$set_name" "$1"; }

# lock serializes runs that share a state dir (same key, same image build).
lock() {
	mkdir -p "$state_dir"
	exec 9>"$state_dir/.testhosts.lock"
	if ! flock -w 600 9; then die "another hosts.sh holds $state_dir/.testhosts.lock"; fi
}

# 9>&-: a dockerd started from here must not inherit (and so hold) our lock.
ensure_docker() { "$here/../docker-ensure.sh" 9>&-; }

# ensure_image prints the image name, building it only when missing.
ensure_image() { "$here/image/build.sh"; }

ensure_network() {
	local got
	if got="$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' "$network" 2>/dev/null)"; then
		case " $got " in
		*" $subnet "*) return 0 ;;
		*) die "network $network exists with subnet '${got% }', want $subnet: remove it" ;;
		esac
	fi
	log "creating network $network ($subnet)"
	# Another run (other state dir) may create it at the same moment.
	docker network create --driver bridge --subnet "$subnet" \
		--label slipway.network=hosts "$network" >/dev/null ||
		docker network inspect "$network" >/dev/null
}

# network_bridge prints the host-side bridge of network $1.
network_bridge() {
	local id name
	id="$(docker network inspect -f '{{.Id}}' "$1")" || return 1
	name="$(docker network inspect -f '{{index .Options "com.docker.network.bridge.name"}}' "$1")"
	echo "${name:-br-${id:0:12}}"
}

# fence_network keeps what the hosts send on this machine: the firewall does not
# forward it beyond their bridge. Nodes need nothing from outside (the bundle is
# offline), and test traffic must stay with our own hosts, also when a node routes
# a packet by its default route (a pod range with no route yet, for instance).
fence_network() {
	local br
	br="$(network_bridge "$network")" || die "cannot find the bridge of $network"
	if ! iptables -nL DOCKER-USER >/dev/null 2>&1; then
		log "warning: no DOCKER-USER chain: traffic from $network is not fenced in"
		return 0
	fi
	iptables -C DOCKER-USER -i "$br" ! -o "$br" -j REJECT 2>/dev/null ||
		iptables -I DOCKER-USER -i "$br" ! -o "$br" -j REJECT ||
		die "cannot fence in $network (iptables -I DOCKER-USER)"
}

# unfence_network removes the rule fence_network added for network $1.
unfence_network() {
	local br
	br="$(network_bridge "$1")" || return 0
	while iptables -D DOCKER-USER -i "$br" ! -o "$br" -j REJECT 2>/dev/null; do :; done
}

ensure_key() {
	key="$(cd "$state_dir" && pwd)/id_ed25519"
	if [ ! -f "$key" ]; then
		log "generating client key $key"
		ssh-keygen -q -t ed25519 -N '' -C "slipway-testhosts" -f "$key"
	elif [ ! -f "$key.pub" ]; then
		ssh-keygen -y -f "$key" >"$key.pub"
	fi
	chmod 600 "$key"
}

# ensure_host makes host $1 exist and run: keeps a running one, starts a
# stopped one, creates a missing one (its volumes survive a re-create).
ensure_host() {
	local name status have
	name="$(host_name "$1")"
	status="$(docker inspect -f '{{.State.Status}}' "$name" 2>/dev/null || true)"
	if [ -n "$status" ]; then
		have="$(docker inspect -f '{{.Config.Image}}' "$name")"
		if [ "$have" != "$image" ]; then
			log "$name runs $have, not $image: run down to pick up the new image"
		fi
	fi
	case "$status" in
	running) return 0 ;;
	paused)
		docker unpause "$name" >/dev/null
		return 0
		;;
	"") ;;
	*)
		log "starting $name (was $status)"
		docker start "$name" >/dev/null
		return 0
		;;
	esac

	log "creating $name"
	local vol mounts=()
	for vol in slipway containerd; do
		docker volume create --label "$label" "$name-$vol" >/dev/null
	done
	# Runtime state off the container's overlay root (overlay on overlay fails).
	mounts+=(-v "$name-slipway:/var/lib/slipway" -v "$name-containerd:/var/lib/containerd")
	# This kernel has its modules built in and no /lib/modules; where a host
	# has them, let the node see (not change) them.
	if [ -d "/lib/modules/$(uname -r)" ]; then
		mounts+=(-v /lib/modules:/lib/modules:ro)
	fi
	# --privileged fails here (CAP_SYS_RESOURCE is not in the VM's bounding
	# set): grant everything else. Host cgroup namespace: the only way the
	# cgroup tree is writable here. /dev/kmsg and a writable /proc/sys: kubelet.
	# SIGRTMIN+3 asks systemd to shut down cleanly on docker stop.
	docker run -d --name "$name" --hostname "$name" \
		--label "$label" --label "slipway.host=$1" \
		--cap-add ALL --cap-drop SYS_RESOURCE \
		--security-opt seccomp=unconfined --security-opt apparmor=unconfined \
		--security-opt systempaths=unconfined \
		--cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
		--tmpfs /run --tmpfs /run/lock \
		--device-cgroup-rule 'a *:* rwm' --device /dev/kmsg \
		--network "$network" --stop-signal SIGRTMIN+3 \
		"${mounts[@]}" "$image" >/dev/null
}

host_address() {
	docker inspect -f "{{with index .NetworkSettings.Networks \"$network\"}}{{.IPAddress}}{{end}}" "$1"
}

# authorize_key puts our public key into root's, admin's and sudopw's
# authorized_keys (the image carries none, so it can be shared).
authorize_key() {
	# shellcheck disable=SC2016 # expanded inside the container
	docker exec -i "$1" sh -eu -c '
		k="$(cat)"
		for u in root admin sudopw; do
			h="$(getent passwd "$u" | cut -d: -f6)"
			g="$(id -g "$u")"
			install -d -m 0700 -o "$u" -g "$g" "$h/.ssh"
			printf "%s\n" "$k" >"$h/.ssh/authorized_keys.tmp"
			chown "$u:$g" "$h/.ssh/authorized_keys.tmp"
			chmod 0600 "$h/.ssh/authorized_keys.tmp"
			mv "$h/.ssh/authorized_keys.tmp" "$h/.ssh/authorized_keys"
		done' <"$key.pub"
}

# wait_host waits until host $1's sshd accepts our key, checking the host
# key it presents against the one read out of band (docker exec), so that
# this harness never trusts an unchecked key. Sets host_addr and host_key.
wait_host() {
	local name deadline kh err="" authorized=""
	name="$(host_name "$1")"
	kh="$tmp/known_hosts.$1"
	deadline=$((SECONDS + timeout_s))
	while :; do
		# Generated at first boot by slipway-ssh-hostkeys.service; read anew
		# each round in case the first read raced with its writing.
		host_key="$(docker exec "$name" cat /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null |
			awk 'NF >= 2 { print $1 " " $2; exit }' || true)"
		if [ -n "$host_key" ] && [ -z "$authorized" ]; then
			authorize_key "$name"
			authorized=1
		fi
		if [ -n "$host_key" ]; then
			host_addr="$(host_address "$name")"
			printf '%s %s\n' "$host_addr" "$host_key" >"$kh"
			if [ -n "$host_addr" ] && err="$(ssh -F /dev/null -i "$key" \
				-o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5 \
				-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$kh" \
				-o GlobalKnownHostsFile=/dev/null -o HostKeyAlgorithms=ssh-ed25519 \
				-o LogLevel=ERROR "root@$host_addr" true 2>&1 </dev/null)"; then
				return 0
			fi
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "$name: sshd did not accept the key within ${timeout_s}s${err:+: $err}"
			docker exec "$name" systemctl --no-pager --failed >&2 2>/dev/null || true
			return 1
		fi
		sleep 1
	done
}

# write_inventory FILE then NAME ADDRESS HOSTKEY triples; atomic (rename).
write_inventory() {
	python3 - "$set_name" "$network" "$subnet" "$key" "$@" <<'PY'
import json, os, sys, tempfile

set_name, network, subnet, key, path = sys.argv[1:6]
rest = sys.argv[6:]
users = [
    {"name": "root", "sudo": False},
    {"name": "admin", "sudo": True},
    {"name": "sudopw", "sudo": True, "sudo_password": "slipway-test"},
]
hosts = [
    {"name": rest[i], "address": rest[i + 1], "port": 22, "users": users,
     "host_public_key": rest[i + 2]}
    for i in range(0, len(rest), 3)
]
doc = {"set": set_name, "network": network, "subnet": subnet,
       "private_key": key, "hosts": hosts}
d = os.path.dirname(os.path.abspath(path))
os.makedirs(d, exist_ok=True)
fd, tmp = tempfile.mkstemp(dir=d, prefix=".hosts.", suffix=".tmp")
try:
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
except BaseException:
    os.unlink(tmp)
    raise
PY
}

cmd_up() {
	local n="${1:-}" i name args=() extra
	case "$n" in
	"" | *[!0-9]* | 0*) die "usage: hosts.sh up N (N a positive number)" ;;
	esac
	[ "$n" -le "$max_hosts" ] || die "at most $max_hosts hosts"
	lock
	ensure_docker
	image="$(ensure_image)"
	ensure_network
	fence_network
	ensure_key
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	# Start them all first so they boot in parallel, then wait for each.
	for ((i = 1; i <= n; i++)); do ensure_host "$i"; done
	for ((i = 1; i <= n; i++)); do
		name="$(host_name "$i")"
		wait_host "$i"
		args+=("$name" "$host_addr" "$host_key")
		log "$name ready at $host_addr"
	done
	extra="$(docker ps -a --filter "label=$label" --format '{{.Names}}' |
		awk -v n="$n" -v p="slipway-$set_name-" 'index($0, p) == 1 && substr($0, length(p) + 1) + 0 > n' |
		sort | paste -sd' ')"
	if [ -n "$extra" ]; then log "not in the inventory (beyond $n), left as they are: $extra"; fi
	write_inventory "$hosts_file" "${args[@]}"
	log "wrote $hosts_file"
}

cmd_down() {
	local names=() vols=() net
	lock
	ensure_docker
	mapfile -t names < <(docker ps -a --filter "label=$label" --format '{{.Names}}' | sort)
	if [ "${#names[@]}" -gt 0 ]; then
		log "removing containers: ${names[*]}"
		docker rm -f -v "${names[@]}" >/dev/null
	fi
	mapfile -t vols < <(docker volume ls -q --filter "label=$label" | sort)
	if [ "${#vols[@]}" -gt 0 ]; then
		log "removing volumes: ${vols[*]}"
		docker volume rm "${vols[@]}" >/dev/null
	fi
	# Networks are shared by all sets: remove one only when no container,
	# running or stopped, is left on it.
	for net in "$network" "$inner_network"; do
		docker network inspect "$net" >/dev/null 2>&1 || continue
		if [ -z "$(docker ps -aq --filter "network=$net")" ]; then
			log "removing network $net"
			unfence_network "$net"
			docker network rm "$net" >/dev/null
		fi
	done
	rm -f "$hosts_file"
}

cmd_status() {
	[ -f "$hosts_file" ] || die "no inventory at $hosts_file: run hosts.sh up N"
	cat "$hosts_file"
	# Tell (on stderr) whether the containers still run, without starting docker.
	if docker info >/dev/null 2>&1; then
		docker ps -a --filter "label=$label" --format '{{.Names}}\t{{.Status}}' | sort >&2
	else
		log "docker is not running: the hosts are down"
	fi
}

cmd_image() {
	lock
	ensure_docker
	ensure_image
}

case "${1:-}" in
up)
	shift
	cmd_up "$@"
	;;
down) cmd_down ;;
down-all)
	# Every set's containers and volumes carry the slipway.set label.
	label="slipway.set"
	cmd_down
	rm -f "$state_dir"/hosts.json "$state_dir"/hosts-*.json
	;;
status) cmd_status ;;
image) cmd_image ;;
*)
	sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
	exit 2
	;;
esac
