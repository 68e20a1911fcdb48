#!/usr/bin/env bash
# Installs, from Debian's packages, what builds and tests need beyond Go, terraform and
# git: the docker engine for test hosts, debootstrap to build their image, the
# Kubernetes Python client for end-to-end checks (for Debian's /usr/bin/python3). Installs only what is missing.
set -euo pipefail
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v curl >/dev/null || need+=(curl)  # make demo asks the service with it
command -v zstd >/dev/null || need+=(zstd)  # packs the bundle's payload
/usr/bin/python3 -c 'import kubernetes' 2>/dev/null || need+=(python3-kubernetes)
# runc in the bundle links libseccomp statically.
[ -f /usr/lib/x86_64-linux-gnu/libseccomp.a ] || [ -f /usr/lib/aarch64-linux-gnu/libseccomp.a ] || need+=(libseccomp-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
for tool in go terraform git make; do
  command -v "${tool}" >/dev/null || { echo "missing ${tool}: install it first (see README.md)" >&2; exit 1; }
done
