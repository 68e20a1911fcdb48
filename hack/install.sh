#!/usr/bin/env bash
# Writes a Terraform CLI config that points the slipway provider at the local build,
# inside a project folder. It never touches ~/.terraformrc: the user opts in per shell
# with TF_CLI_CONFIG_FILE.
# Usage: hack/install.sh PROJECT_DIR BIN_DIR
set -euo pipefail
project=$1 bindir=$2
mkdir -p "${project}"
project=$(cd "${project}" && pwd)
rc="${project}/slipway.tfrc"
cat > "${rc}.tmp" <<RC
# Written by 'make install': use the locally built slipway provider.
provider_installation {
  dev_overrides {
    "slipway-dev/slipway" = "${bindir}"
  }
  # Every other provider installs as usual.
  direct {}
}
RC
mv "${rc}.tmp" "${rc}"
cat <<MSG
Wrote ${rc}
To use the local provider build in this shell:
  export TF_CLI_CONFIG_FILE=${rc}
With dev_overrides, skip 'terraform init' for slipway-only configurations and run
'terraform plan' / 'terraform apply' directly.
MSG
