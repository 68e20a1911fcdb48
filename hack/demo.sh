#!/usr/bin/env bash
# The main job: three test hosts, then one `terraform apply` of examples/quickstart that
# installs a cluster on them and a web workload on the cluster; then a look at both.
# Re-running converges (hosts are kept, apply changes only what drifted).
# Usage: hack/demo.sh up BUNDLE WEB_IMAGE SLIPWAY_BIN | hack/demo.sh down
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo}"
state=.slipway
example=examples/quickstart
kubeconfig="${repo}/${state}/demo.kubeconfig"
varfile=slipway-demo.auto.tfvars
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_CLI_CONFIG_FILE="${repo}/${state}/slipway.tfrc"
export SLIPWAY_HOSTS_SET=demo

current="starting"
step() {
	current="$*"
	printf '\n==> %s\n' "$*"
}
trap 'rc=$?; [ $rc -eq 0 ] || printf "\nmake demo failed while %s (exit %d).\nLook at the output above; the hosts are kept (docker ps --filter label=slipway.set=demo),\nand the node service log on a host: docker exec slipway-demo-1 journalctl -u slipway.\nRe-run make demo to continue, or make demo-down to start over.\n" "$current" $rc >&2' EXIT

# Colour codes only for a terminal: a log file or CI output stays readable.
color=()
[ -t 1 ] || color=(-no-color)
tf() {
	local cmd=$1
	shift
	terraform -chdir="${example}" "${cmd}" "${color[@]}" "$@"
}

up() {
	local bundle=$1 image=$2 slipway=$3
	step "starting 3 test hosts (hack/testhosts/hosts.sh)"
	hack/testhosts/hosts.sh up 3
	hack/install.sh "${state}" "${repo}/bin" >/dev/null

	step "terraform apply: a cluster on slipway-demo-1, agents on -2 and -3, and the workload"
	# dev_overrides point Terraform at the local build (bin/); with them `terraform init`
	# is not needed for a configuration that uses only slipway and built-ins.
	# The paths go in a variables file beside the configuration, so a later plan or
	# destroy there needs no -var.
	printf 'bundle    = "%s"\nweb_image = "%s"\n' "${repo}/${bundle}" "${repo}/${image}" >"${example}/${varfile}"
	tf apply -auto-approve -input=false

	step "writing the kubeconfig to ${state}/demo.kubeconfig (mode 0600)"
	(umask 077 && tf output -raw kubeconfig >"${kubeconfig}.tmp" && mv "${kubeconfig}.tmp" "${kubeconfig}")

	step "kubectl get nodes,pods,svc -o wide"
	"${slipway}" kubectl --kubeconfig "${kubeconfig}" get nodes -o wide
	echo
	"${slipway}" kubectl --kubeconfig "${kubeconfig}" -n demo get pods,svc,pvc -o wide

	local url
	url=$(tf output -raw service_url)
	step "asking the service: curl ${url}"
	curl -fsS --retry 10 --retry-delay 2 --retry-all-errors --max-time 5 "${url}"

	cat <<MSG

The demo cluster is up. Look around:
  export KUBECONFIG=${kubeconfig}
  ${slipway} kubectl get pods -A -o wide      # kubectl at the cluster's version
  curl ${url}                           # each answer names the pod that served it
  TF_CLI_CONFIG_FILE=${TF_CLI_CONFIG_FILE} terraform -chdir=${example} plan   # no drift: no changes
  ssh -i ${state}/id_ed25519 admin@$(python3 -c 'import json; print(json.load(open(".slipway/hosts.json"))["hosts"][0]["address"])')
Tear it down with: make demo-down
MSG
}

down() {
	if [ -f "${example}/terraform.tfstate" ] && [ -f "${state}/hosts.json" ] &&
		[ -n "$(docker ps -q --filter label=slipway.set=demo 2>/dev/null)" ]; then
		step "terraform destroy"
		tf destroy -auto-approve -input=false || echo "warning: terraform destroy failed; removing the hosts anyway" >&2
	fi
	step "removing the test hosts"
	hack/testhosts/hosts.sh down
	rm -f "${kubeconfig}" "${example}"/terraform.tfstate "${example}"/terraform.tfstate.backup "${example}/${varfile}"
	echo "demo removed"
}

case "${1:-}" in
up) up "$2" "$3" "$4" ;;
down) down ;;
*)
	echo "usage: $0 up BUNDLE WEB_IMAGE SLIPWAY_BIN | $0 down" >&2
	exit 2
	;;
esac
