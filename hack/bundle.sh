#!/usr/bin/env bash
# Packs the node bundle: everything a host needs, as one gzip tarball (minimal hosts
# have tar and gzip, not always zstd) plus a sha256 file. Reproducible: fixed order,
# owner and mtime, so the same inputs give the same checksum and uploads can be skipped.
# Usage: hack/bundle.sh VERSION ARCH STAGING_DIR OUT_DIR
set -euo pipefail
version=$1 arch=$2 staging=$3 out=$4
name="slipway-${version}-linux-${arch}"
mkdir -p "${out}"
tarball="${out}/${name}.tar.gz"
# manifest.json lists each file's checksum, so a host can verify what it unpacked.
(
  cd "${staging}"
  python3 - "${version}" "${arch}" <<'PY'
import hashlib, json, os, sys
version, arch = sys.argv[1], sys.argv[2]
files = {}
for root, _, names in os.walk("."):
    for n in sorted(names):
        p = os.path.join(root, n)[2:]
        if p == "manifest.json":
            continue
        with open(p, "rb") as f:
            files[p] = hashlib.sha256(f.read()).hexdigest()
kube = open("kubernetes-version").read().strip() if os.path.exists("kubernetes-version") else ""
json.dump({"slipway": version, "kubernetes": kube, "arch": arch, "files": dict(sorted(files.items()))},
          open("manifest.json", "w"), indent=2)
PY
)
tar -C "${staging}" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - . | gzip -n -9 > "${tarball}.tmp"
mv "${tarball}.tmp" "${tarball}"
(cd "${out}" && sha256sum "${name}.tar.gz" > "${name}.tar.gz.sha256")
echo "${tarball}"
