#!/usr/bin/env bash
# Builds the bundle's helper executables from their pinned Go modules
# (orchestrator/runtime/go.mod): containerd (with ctr inside), the runc shim, runc,
# the CNI plugins, and our pause program. They live in a module of their own so
# their dependency versions never move the Kubernetes and provider ones.
# Usage: hack/runtime.sh ARCH STAGING_DIR
set -euo pipefail
arch=$1 staging=$2
mod=orchestrator/runtime
out="$(cd "$(dirname "${staging}")" && pwd)/$(basename "${staging}")/bin"
mkdir -p "${out}/cni"
ver() { go list -C "${mod}" -m -f "{{.Version}}" "$1"; }
export GOOS=linux GOARCH="${arch}" GOFLAGS="-trimpath -buildvcs=false"
# containerd's optional snapshotters that need C libraries are left out.
tags="no_btrfs no_devmapper no_zfs"
cd_ver=$(ver github.com/containerd/containerd/v2)

CGO_ENABLED=0 go build -C "${mod}" -tags "${tags}" \
  -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=${cd_ver#v} -X github.com/containerd/containerd/v2/version.Package=github.com/containerd/containerd/v2" \
  -o "${out}/containerd" ./cmd/containerd
CGO_ENABLED=0 go build -C "${mod}" -tags "${tags}" \
  -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=${cd_ver#v}" \
  -o "${out}/containerd-shim-runc-v2" github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2
CGO_ENABLED=0 go build -C "${mod}" -ldflags "-s -w" -o "${out}/pause" ./cmd/pause
for p in main/bridge ipam/host-local main/loopback meta/portmap; do
  CGO_ENABLED=0 go build -C "${mod}" -ldflags "-s -w" -o "${out}/cni/$(basename "${p}")" \
    "github.com/containernetworking/plugins/plugins/${p}"
done

# runc's nsenter is C: a static cgo build, so the host needs no libc of a given
# version; with seccomp (libseccomp linked in statically), because the CRI plugin
# gives every sandbox the runtime's default seccomp profile.
cc=gcc
if [ "${arch}" != "$(go env GOHOSTARCH)" ]; then
  cc="${RUNC_CC:-aarch64-linux-gnu-gcc}"
  command -v "${cc}" >/dev/null || { echo "runtime.sh: building runc for ${arch} needs the C cross compiler ${cc} (Debian: gcc-aarch64-linux-gnu)" >&2; exit 1; }
fi
pkg-config --exists libseccomp 2>/dev/null || { echo "runtime.sh: building runc needs libseccomp's static library (Debian: libseccomp-dev pkg-config; hack/deps.sh installs them)" >&2; exit 1; }
CGO_ENABLED=1 CC="${cc}" go build -C "${mod}" -tags "seccomp netgo osusergo" \
  -ldflags "-s -w -X main.version=$(ver github.com/opencontainers/runc | sed 's/^v//') -extldflags -static" \
  -o "${out}/runc" github.com/opencontainers/runc

CGO_ENABLED=0 go build -C "${mod}" -ldflags "-s -w" -o "${out}/coredns" ./cmd/coredns
CGO_ENABLED=0 go build -C "${mod}" -ldflags "-s -w" -o "${out}/volume-helper" ./cmd/volume-helper
