#!/usr/bin/env bash
# Build the Slipway test-host image: a systemd + sshd Debian bookworm root
# file system made with debootstrap and imported into docker.
#
# No image registry is reachable from these machines, so no base image can be
# pulled: the image is made from Debian packages alone. It is tagged by a
# hash of the files in this folder, so a changed recipe gives a new tag.
#
# Usage: build.sh           build unless present; print the image name
#        build.sh --tag     only print the image name
#        build.sh --force   rebuild even if present; print the image name
#
# SLIPWAY_DEBIAN_MIRROR overrides the mirror read from apt's sources.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_name="slipway-testhost"
suite="bookworm"

# Small things a Kubernetes node uses beyond the basics: conntrack (kube-proxy),
# nftables (kube-proxy nftables mode), ethtool and socat (kubelet helpers),
# openssh-sftp-server (Slipway uploads files over SFTP).
packages="systemd,systemd-sysv,openssh-server,openssh-sftp-server,sudo"
packages+=",iptables,nftables,iproute2,conntrack,ethtool,socat"
packages+=",ca-certificates,dbus,procps,kmod"

log() { printf 'testhosts/image: %s\n' "$*" >&2; }

# quiet runs a command, showing its chatter only when it fails.
quiet() {
	local out
	if ! out="$("$@" 2>&1)"; then
		printf '%s\n' "$out" >&2
		return 1
	fi
}

# recipe_hash: first 12 hex of a sha256 over every file of the recipe (names
# and contents), so any edit here yields a new tag.
recipe_hash() {
	(
		cd "$here"
		find . -type f ! -name '*~' ! -name '.*.swp' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
	) | sha256sum | cut -c1-12
}

# debian_mirror prints the Debian mirror apt already uses here (never a
# hard-coded host): the first enabled "deb" source carrying bookworm main,
# in one-line (.list) or deb822 (.sources) format.
debian_mirror() {
	if [ -n "${SLIPWAY_DEBIAN_MIRROR:-}" ]; then
		printf '%s\n' "$SLIPWAY_DEBIAN_MIRROR"
		return
	fi
	python3 - "$suite" <<'PY'
import glob, sys

suite = sys.argv[1]
files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
found = []

def consider(types, uris, suites, comps):
    if "deb" in types and suite in suites and "main" in comps:
        for u in uris:
            if u.startswith(("http://", "https://", "file:/")):
                found.append(u.rstrip("/"))

for path in files:
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        continue
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        # Skip "[arch=... signed-by=...]" options.
        if len(words) > 1 and words[1].startswith("["):
            while len(words) > 1 and not words[1].endswith("]"):
                del words[1]
            del words[1]
        if len(words) >= 4:
            consider([words[0]], [words[1]], [words[2]], words[3:])

for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        continue
    for stanza in text.split("\n\n"):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        consider(fields.get("types", "").split(), fields.get("uris", "").split(),
                 fields.get("suites", "").split(), fields.get("components", "").split())

if not found:
    sys.exit("no enabled 'deb' source for %s main in apt's sources; set SLIPWAY_DEBIAN_MIRROR" % suite)
print(found[0])
PY
}

image="${repo_name}:$(recipe_hash)"

mode="${1:-}"
case "$mode" in
--tag)
	printf '%s\n' "$image"
	exit 0
	;;
--force | "") ;;
*)
	log "usage: $0 [--tag|--force]"
	exit 2
	;;
esac

if [ "$mode" != "--force" ] && docker image inspect "$image" >/dev/null 2>&1; then
	printf '%s\n' "$image"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	log "building the image needs root (debootstrap, chroot)"
	exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
	log "installing debootstrap from Debian"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

mirror="$(debian_mirror)"
# Follow apt's proxy too, if it has one: debootstrap does its own fetching.
apt_http_proxy="" apt_https_proxy=""
eval "$(apt-config shell apt_http_proxy Acquire::http::Proxy apt_https_proxy Acquire::https::Proxy)"
if [ -n "$apt_http_proxy" ]; then export http_proxy="$apt_http_proxy"; fi
if [ -n "$apt_https_proxy" ]; then export https_proxy="$apt_https_proxy"; fi

# On disk, not /tmp: the root file system is a few hundred MB.
work="$(mktemp -d /var/tmp/slipway-testhost.XXXXXX)"
root="$work/rootfs"
cleanup() {
	# debootstrap unmounts what it mounted, but not when it is interrupted.
	local m
	awk -v p="$root/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r |
		while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

keyring_args=()
if [ -r /usr/share/keyrings/debian-archive-keyring.gpg ]; then
	keyring_args=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
fi

log "debootstrap $suite from $mirror (takes a minute or two)"
start=$SECONDS
if ! debootstrap --variant=minbase "${keyring_args[@]}" --include="$packages" \
	"$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
	tail -n 30 "$work/debootstrap.log" >&2
	if [ -f "$root/debootstrap/debootstrap.log" ]; then tail -n 30 "$root/debootstrap/debootstrap.log" >&2; fi
	log "debootstrap failed"
	exit 1
fi
log "debootstrap done in $((SECONDS - start))s"

# Users: root (key only), admin (passwordless sudo), sudopw (sudo with a
# password). '*' is "no password" for admin, not "locked", so key logins work
# whatever sshd's UsePAM says.
chroot "$root" useradd --create-home --shell /bin/bash admin
chroot "$root" usermod --password '*' admin
chroot "$root" useradd --create-home --shell /bin/bash --groups sudo sudopw
echo 'sudopw:slipway-test' | chroot "$root" chpasswd
install -m 0440 "$here/sudoers-slipway" "$root/etc/sudoers.d/slipway"
chroot "$root" visudo -cq

install -m 0644 "$here/sshd-slipway.conf" "$root/etc/ssh/sshd_config.d/slipway.conf"
install -m 0644 "$here/slipway-ssh-hostkeys.service" "$root/etc/systemd/system/slipway-ssh-hostkeys.service"
quiet systemctl --root="$root" enable slipway-ssh-hostkeys.service

# Units that make no sense in a container and only fail or wait there.
quiet systemctl --root="$root" mask \
	getty@tty1.service console-getty.service serial-getty@.service \
	systemd-udevd.service systemd-udevd-kernel.socket systemd-udevd-control.socket \
	systemd-udev-trigger.service systemd-udev-settle.service \
	systemd-remount-fs.service systemd-firstboot.service \
	sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
	apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer

# Per-host identity: no baked-in SSH host keys (the unit above makes them),
# and an empty machine-id, which systemd fills with a fresh one at boot.
rm -f "$root"/etc/ssh/ssh_host_*
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
ln -s /etc/machine-id "$root/var/lib/dbus/machine-id"

# Lean: package caches and lists, manuals, translations.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
	"$root"/var/lib/apt/lists/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
	"$root"/usr/share/locale/* "$root"/var/log/*.log "$root/debootstrap"

log "importing $image"
# container=docker tells systemd it runs in a container. (docker import
# cannot set STOPSIGNAL: hosts.sh passes --stop-signal SIGRTMIN+3 instead.)
tar --numeric-owner -C "$root" -c . | docker import \
	-c 'CMD ["/sbin/init"]' \
	-c 'ENV container=docker' \
	-c "LABEL slipway.recipe=${image#*:}" \
	- "$image" >/dev/null
log "built $image in $((SECONDS - start))s"
printf '%s\n' "$image"
