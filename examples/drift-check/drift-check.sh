#!/usr/bin/env bash
# Drift check for CI: compares hosts, cluster and workloads with the configuration.
#
#   examples/drift-check/drift-check.sh [TERRAFORM_DIR] [extra plan arguments...]
#
# Exit codes are terraform plan -detailed-exitcode's, so a CI job can act on them:
#   0  no drift: everything matches the configuration
#   2  drift: the plan (printed, and saved as drift.plan.txt) shows what differs
#   1  the check itself failed (bad configuration, unreachable host or API, ...)
set -uo pipefail
dir=${1:-.}
shift || true
out="${DRIFT_PLAN_OUT:-drift.plan.txt}"

terraform -chdir="${dir}" plan -detailed-exitcode -input=false -lock=false -no-color "$@" >"${out}" 2>&1
code=$?
case "${code}" in
0)
	echo "no drift: ${dir} matches its configuration"
	;;
2)
	echo "drift found in ${dir}: these resources differ from the configuration"
	grep -E '^  # .* (will be|must be)' "${out}" || true
	grep -E '^Plan: ' "${out}" || true
	echo "full plan: ${out}; 'terraform apply' repairs it"
	;;
*)
	echo "drift check failed (terraform plan exit ${code}):" >&2
	tail -n 30 "${out}" >&2
	code=1
	;;
esac
exit "${code}"
