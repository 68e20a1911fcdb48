#!/usr/bin/env bash
# Benchmark: `terraform plan` (with its refresh) over 2*N workload resources (N
# deployments, N services; default N=100, so 200) against a real control plane on
# loopback (`slipway server --disable-agent`). Prints the apply time and the plan time.
# Usage: hack/bench-plan.sh SLIPWAY_BIN PROVIDER_BIN_DIR [N]
set -euo pipefail
slipway=$1 bindir=$2 n=${3:-100}
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -z "${pid}" ] || { kill "${pid}" 2>/dev/null || true; wait "${pid}" 2>/dev/null || true; }
  rm -rf "${tmp}"
}
trap cleanup EXIT
read -r p1 p2 p3 p4 p5 p6 < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
"${slipway}" server --disable-agent --data-dir "${tmp}/data" --write-kubeconfig "${tmp}/kubeconfig" \
  --node-name bench --https-port "${p1}" --etcd-client-port "${p2}" --etcd-peer-port "${p3}" \
  --controller-manager-port "${p4}" --scheduler-port "${p5}" --metrics-server-port "${p6}" >"${tmp}/server.log" 2>&1 &
pid=$!
for i in $(seq 1 180); do
  "${slipway}" kubectl --kubeconfig "${tmp}/kubeconfig" get namespace default >/dev/null 2>&1 && break
  kill -0 "${pid}" 2>/dev/null || { echo "slipway server exited:" >&2; tail -20 "${tmp}/server.log" >&2; exit 1; }
  [ "${i}" -lt 180 ] || { echo "control plane not ready in 180 s" >&2; exit 1; }
  sleep 1
done

mkdir -p "${tmp}/tf"
cat >"${tmp}/slipway.tfrc" <<RC
provider_installation {
  dev_overrides { "slipway-dev/slipway" = "${bindir}" }
  direct {}
}
RC
cat >"${tmp}/tf/main.tf" <<TF
terraform {
  required_providers {
    slipway = { source = "slipway-dev/slipway" }
  }
}
provider "slipway" {
  kubeconfig_path = "${tmp}/kubeconfig"
}
resource "slipway_deployment" "d" {
  count    = ${n}
  metadata = { name = "bench-\${count.index}", namespace = "default" }
  spec = {
    replicas = 2
    selector = { match_labels = { app = "bench-\${count.index}" } }
    template = {
      metadata = { labels = { app = "bench-\${count.index}" } }
      spec = {
        containers = [{
          name      = "web"
          image     = "slipway.local/demo-web:1"
          ports     = [{ name = "http", container_port = 8080 }]
          env       = [{ name = "INDEX", value = "\${count.index}" }]
          resources = { requests = { cpu = "10m", memory = "16Mi" } }
          readiness_probe = { http_get = { path = "/healthz", port = "http" } }
        }]
      }
    }
  }
  # No nodes here: the benchmark measures the provider and the API, not a rollout.
  wait_for_rollout = false
}
resource "slipway_service" "s" {
  count    = ${n}
  metadata = { name = "bench-\${count.index}", namespace = "default" }
  spec = {
    selector = { app = "bench-\${count.index}" }
    ports    = [{ name = "http", port = 80, target_port = "http" }]
  }
}
TF
export TF_CLI_CONFIG_FILE="${tmp}/slipway.tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
t0=$(date +%s%N)
terraform -chdir="${tmp}/tf" apply -auto-approve -input=false -no-color >"${tmp}/apply.log" 2>&1 ||
  { tail -30 "${tmp}/apply.log" >&2; exit 1; }
apply_ms=$(ms "${t0}")
t0=$(date +%s%N)
code=0
terraform -chdir="${tmp}/tf" plan -detailed-exitcode -input=false -no-color >"${tmp}/plan.log" 2>&1 || code=$?
plan_ms=$(ms "${t0}")
[ "${code}" = 0 ] || { echo "plan exit ${code}, want 0 (no changes):" >&2; tail -30 "${tmp}/plan.log" >&2; exit 1; }
echo "workload resources: $((2 * n)) (${n} deployments, ${n} services) on a loopback control plane, 2 cores"
awk -v a="${apply_ms}" -v p="${plan_ms}" 'BEGIN {
  printf "  terraform apply (create all):       %.1f s\n", a / 1000
  printf "  terraform plan (refresh, no change): %.1f s\n", p / 1000 }'
