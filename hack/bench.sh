#!/usr/bin/env bash
# Benchmarks: the figures the issues set targets for, each measured here, now.
#   bundle size; on two fresh test hosts (set "bench"): time from `slipway server`
#   start to its node Ready, server RSS idle with a 3-replica workload, time from
#   `slipway agent` start to Ready, agent RSS idle. RSS counts slipway, containerd
#   and the shims, not the workload's own processes.
# Usage: hack/bench.sh BUNDLE [DEMO_IMAGE_ARCHIVE]
set -euo pipefail
bundle=$1 image=${2:-}
here="$(cd "$(dirname "$0")" && pwd)"
size() { stat -c %s "$1"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
tmp=$(mktemp -d)
export SLIPWAY_HOSTS_SET=bench SLIPWAY_HOSTS_FILE="${tmp}/hosts.json"
cleanup() { "${here}/testhosts/hosts.sh" down >/dev/null 2>&1 || true; rm -rf "${tmp}"; }
trap cleanup EXIT
# unpack_cmd BUNDLE DIR: how a host unpacks a bundle (tar and the bundle's own unpack
# program; orchestrator/bundle.UnpackScript), here and on the test hosts alike.
unpack_cmd() { printf 'mkdir -p %s && tar -xf %s -C %s --no-same-owner unpack && %s/unpack %s %s && rm -f %s/unpack' "$2" "$1" "$2" "$2" "$1" "$2" "$2"; }
sh -c "$(unpack_cmd "${bundle}" "${tmp}/unpacked")"
echo "bundle: $(basename "${bundle}")"
echo "  compressed size:   $(mib "$(size "${bundle}")") (target <= 100 MiB; k3s ships under 100 MB)"
echo "  uncompressed size: $(mib "$(du -sb "${tmp}/unpacked" | cut -f1)")"
for f in slipway slipway-agent containerd coredns; do
  printf '  bin/%-14s %s\n' "${f}:" "$(mib "$(size "${tmp}/unpacked/bin/${f}")")"
done
[ -n "${image}" ] || { echo "no demo image archive given: node figures skipped (make bench passes one)"; exit 0; }

"${here}/testhosts/hosts.sh" up 2 >/dev/null
mapfile -t names < <(python3 -c 'import json,sys; [print(h["name"], h["address"]) for h in json.load(open(sys.argv[1]))["hosts"]]' "${SLIPWAY_HOSTS_FILE}")
read -r server server_ip <<<"${names[0]}"
read -r agent agent_ip <<<"${names[1]}"
for h in "${server}" "${agent}"; do
  docker cp "${bundle}" "${h}:/tmp/bundle.tar"
  docker exec "${h}" sh -c "mkdir -p /var/lib/slipway/images && $(unpack_cmd /tmp/bundle.tar /opt/slipway-bench)"
  docker cp "${image}" "${h}:/var/lib/slipway/images/"
done
kc() { docker exec "${server}" /opt/slipway-bench/bin/slipway kubectl --kubeconfig /etc/slipway/admin.kubeconfig "$@"; }
ready_after() { # $1 node name, $2 start time (ns): seconds until the node is Ready
  for _ in $(seq 1 300); do
    if [ "$(kc get node "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; then
      awk -v s="$2" -v e="$(date +%s%N)" 'BEGIN { printf "%.1f s", (e - s) / 1e9 }'
      return
    fi
    sleep 0.5
  done
  echo "not Ready within 150 s"
}
# RSS of slipway (or slipway-agent), containerd and the shims on a host, in MiB.
rss() {
  docker exec "$1" sh -c 'ps -eo rss=,comm= | awk '\''$2 ~ /^(slipway|containerd|containerd-shim)/ { s += $1 } END { printf "%.0f MiB", s / 1024 }'\'''
}
start=$(date +%s%N)
docker exec "${server}" systemd-run --unit slipway --property=KillMode=process /opt/slipway-bench/bin/slipway server --node-ip "${server_ip}" >/dev/null
until docker exec "${server}" test -s /etc/slipway/admin.kubeconfig 2>/dev/null; do sleep 0.5; done
echo "server: start to node Ready:  $(ready_after "${server}" "${start}")"
kc create deployment web --image=slipway.local/demo-web:1 --replicas=3 >/dev/null
kc rollout status deployment/web --timeout=120s >/dev/null
sleep 30
echo "server: RSS idle with 3 web replicas (slipway + containerd + shims): $(rss "${server}") (target <= 600 MiB; k3s about 1.6 GB)"
token=$(docker exec "${server}" cat /var/lib/slipway/server/token)
start=$(date +%s%N)
docker exec "${agent}" systemd-run --unit slipway --property=KillMode=process /opt/slipway-bench/bin/slipway agent \
  --server "https://${server_ip}:6443" --token "${token}" --node-ip "${agent_ip}" >/dev/null
echo "agent: start to node Ready:   $(ready_after "${agent}" "${start}")"
sleep 30
echo "agent: RSS idle (slipway + containerd + shims): $(rss "${agent}") (target <= 150 MiB; k3s agent about 275 MB)"
# Per process, anonymous and file-backed (the binary's pages in memory) apart.
docker exec "${agent}" sh -c 'for p in $(pgrep -x "slipway|slipway-agent|containerd|containerd-shim.*"); do
  awk -v c="$(cat /proc/$p/comm)" '\''/^RssAnon|^RssFile/ { v[$1] = $2 } END { printf "  %-24s anon %4.0f MiB  file %4.0f MiB\n", c, v["RssAnon:"] / 1024, v["RssFile:"] / 1024 }'\'' /proc/$p/status
done' 
