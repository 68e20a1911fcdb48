#!/usr/bin/env bash
# Benchmarks: figures the issues set targets for. Each line is measured here, now.
# Usage: hack/bench.sh BUNDLE
set -euo pipefail
bundle=$1
size() { stat -c %s "$1"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
tmp=$(mktemp -d)
trap 'rm -rf "${tmp}"' EXIT
tar -C "${tmp}" -xzf "${bundle}"
echo "bundle: $(basename "${bundle}")"
echo "  compressed size:   $(mib "$(size "${bundle}")") (target <= 100 MiB)"
echo "  uncompressed size: $(mib "$(du -sb "${tmp}" | cut -f1)")"
echo "  bin/slipway:       $(mib "$(size "${tmp}/bin/slipway")")"
echo "not measured yet (they need 'slipway server', issue #3): server RSS idle, time from start to node Ready"
