#!/usr/bin/env bash
# Packs the node bundle (format: orchestrator/bundle): a plain tar of manifest.json,
# the unpack program and payload.tar.zst, plus a sha256 file. zstd's long window
# stores slipway and slipway-agent, which share most of their code, in little more
# than the space of one; hosts need only tar, since unpack decompresses the payload.
# Reproducible: fixed order, owner and mtime, so the same inputs give the same
# checksum and uploads can be skipped.
# Usage: hack/bundle.sh VERSION ARCH STAGING_DIR UNPACK_PROGRAM OUT_DIR
set -euo pipefail
version=$1 arch=$2 staging=$3 unpack=$4 out=$5
name="slipway-${version}-linux-${arch}"
mkdir -p "${out}"
bundle="${out}/${name}.tar"
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
# manifest.json lists each payload file's checksum, so a host can verify what it unpacked.
python3 - "${version}" "${arch}" "${staging}" >"${work}/manifest.json" <<'PY'
import hashlib, json, os, sys
version, arch, staging = sys.argv[1:4]
files = {}
for root, _, names in os.walk(staging):
    for n in sorted(names):
        p = os.path.join(root, n)
        with open(p, "rb") as f:
            files[os.path.relpath(p, staging)] = hashlib.sha256(f.read()).hexdigest()
kube_file = os.path.join(staging, "kubernetes-version")
kube = open(kube_file).read().strip() if os.path.exists(kube_file) else ""
json.dump({"slipway": version, "kubernetes": kube, "arch": arch, "files": dict(sorted(files.items()))},
          sys.stdout, indent=2)
PY
# Level 12 with a 128 MiB window: 10 s here; -19 saves another 12 MiB in 2 min.
tar -C "${staging}" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - . |
  zstd -q -12 --long=27 -T0 -o "${work}/payload.tar.zst"
install -m 0755 "${unpack}" "${work}/unpack"
chmod 0644 "${work}/manifest.json" "${work}/payload.tar.zst"
tar -C "${work}" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "${bundle}.tmp" manifest.json unpack payload.tar.zst
mv "${bundle}.tmp" "${bundle}"
rm -f "${out}/${name}.tar.gz" "${out}/${name}.tar.gz.sha256"
(cd "${out}" && sha256sum "${name}.tar" > "${name}.tar.sha256")
echo "${bundle}"
